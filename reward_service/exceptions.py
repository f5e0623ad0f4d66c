"""The reward service's exceptions: one tree, so callers catch at the level they care about.

    RewardError                      base of everything this package raises on purpose
    ├── ConfigError                  bad settings: unknown backend, missing model path, bad labels
    ├── ModelLoadError               the model or tokenizer could not be loaded
    ├── NotReadyError                score() before start() finished, or after aclose()
    ├── OverloadedError              the batcher's queue is full: try again later (HTTP 503)
    ├── RequestError                 the HTTP request itself is refused, before it is parsed
    │   ├── BodyTooLargeError        the body is over max_body_bytes (HTTP 413)
    │   └── BodyTimeoutError         the body did not arrive within body_read_timeout_s (408)
    └── ScoringError                 a forward pass failed (fails only its own batch)
        ├── GuardOutputError         the guard answered, but not with a usable safe/unsafe token
        └── UpstreamError            openai-guard: the serving engine failed or was unreachable

Errors from libraries (torch, transformers, httpx) are mapped to these at the boundary with
`raise X from exc`, so the HTTP layer and the embedding proxy never see library types.
"""

from __future__ import annotations


class RewardError(Exception):
    """Base class of the reward service's errors."""


class ConfigError(RewardError):
    """The settings are inconsistent or name something that does not exist."""


class ModelLoadError(RewardError):
    """The model, tokenizer or probe head could not be loaded."""


class NotReadyError(RewardError):
    """The engine is not started (or already closed)."""


class OverloadedError(RewardError):
    """Too many items are waiting for the model; nothing of this call was queued."""


class RequestError(RewardError):
    """The HTTP request is refused before its body is parsed."""


class BodyTooLargeError(RequestError):
    """The request body is over the configured limit."""


class BodyTimeoutError(RequestError):
    """The request body did not arrive in time (a slow or stalled upload)."""


class ScoringError(RewardError):
    """A forward pass failed; only the callers in that batch see it."""


class GuardOutputError(ScoringError):
    """The guard's first token carried neither the safe nor the unsafe label."""


class UpstreamError(ScoringError):
    """The OpenAI-compatible serving engine behind openai-guard failed."""
