"""The proxy's exceptions, one tree. Errors from outside (aiohttp, redis, jinja) are mapped to it
at the boundary where they happen (``raise UpstreamUnavailable(...) from exc``), and one handler
in ``proxy.api.errors`` renders any of them in OpenAI's error envelope.

```
SafeThinkError                    500 internal_error
├── RequestError                  400 invalid_request_error  (the client's request is wrong)
│   ├── UnsupportedFeature        400 a feature the chosen policy cannot steer (n > 1, logprobs)
│   ├── PolicyNotAllowed          400 a per-request policy or override outside the allow-list
│   ├── PayloadTooLarge           413
│   ├── RequestTimeout            408 the body did not arrive within body_read_timeout_s
│   ├── NotFound                  404 no such route, or no record of that request
│   │   └── ModelNotFound         404 a model that is not listed, or not the caller's
│   └── Unauthorized              401
├── Overloaded                    503 the proxy is at max_concurrent_requests (with Retry-After)
├── UpstreamError                 the model server failed
│   ├── UpstreamStatusError       its HTTP error status and message, passed through
│   ├── UpstreamUnavailable       502 it cannot be reached, or broke the connection
│   ├── UpstreamTimeout           504
│   └── UpstreamProtocolError     502 it answered something that is not OpenAI's protocol
├── ScoringError                  503 the reward service failed (fail_mode decides what follows)
│   ├── ScorerUnavailable
│   └── ScorerTimeout
├── ContinuationError             502 a steered generation cannot be re-issued on this upstream
├── StoreError                    never reaches a client: the store degrades to memory instead
└── ConfigError                   never reaches a client: a settings file is wrong, at start
```
"""

from __future__ import annotations


class SafeThinkError(Exception):
    status_code = 500
    error_type = "internal_error"
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class RequestError(SafeThinkError):
    status_code = 400
    error_type = "invalid_request_error"


class UnsupportedFeature(RequestError):
    code = "unsupported_with_policy"


class PolicyNotAllowed(RequestError):
    code = "policy_not_allowed"


class PayloadTooLarge(RequestError):
    status_code = 413
    code = "payload_too_large"


class RequestTimeout(RequestError):
    status_code = 408
    code = "request_timeout"


class NotFound(RequestError):
    status_code = 404
    code = "not_found"


class ModelNotFound(NotFound):
    """Worded as OpenAI words it, for a model that does not exist and for one the caller's key
    may not use alike: the answer must not tell which models exist."""

    code = "model_not_found"

    def __init__(self, model: str) -> None:
        super().__init__(
            f"The model `{model[:256]}` does not exist or you do not have access to it.",
            param="model",
        )


class Unauthorized(RequestError):
    status_code = 401
    error_type = "authentication_error"
    code = "invalid_api_key"


class Overloaded(SafeThinkError):
    status_code = 503
    error_type = "server_error"
    code = "overloaded"


class UpstreamError(SafeThinkError):
    status_code = 502
    error_type = "upstream_error"


class UpstreamStatusError(UpstreamError):
    """The upstream answered an HTTP error; its status and message go to the client as they are."""

    def __init__(self, status_code: int, message: str, body: object = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        self.error_type = "invalid_request_error" if status_code < 500 else "upstream_error"


class UpstreamUnavailable(UpstreamError):
    code = "upstream_unavailable"


class UpstreamTimeout(UpstreamError):
    status_code = 504
    code = "upstream_timeout"


class UpstreamProtocolError(UpstreamError):
    code = "upstream_protocol_error"


class ScoringError(SafeThinkError):
    status_code = 503
    error_type = "scoring_error"
    code = "reward_service_unavailable"


class ScorerUnavailable(ScoringError):
    pass


class ScorerTimeout(ScoringError):
    code = "reward_service_timeout"


class ContinuationError(SafeThinkError):
    status_code = 502
    error_type = "upstream_error"
    code = "continuation_unsupported"


class StoreError(SafeThinkError):
    pass


class ConfigError(SafeThinkError):
    """A settings file (the models file, the keys file) is wrong: the proxy does not start."""
