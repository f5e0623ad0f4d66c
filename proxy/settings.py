"""The proxy's one settings object.

Every field is an environment variable with the prefix ``SAFETHINK_`` (``SAFETHINK_TAU``,
``SAFETHINK_UPSTREAM_URL``...), optionally read from a YAML file named by ``SAFETHINK_CONFIG``
(environment variables win over the file, command-line flags win over both). It is loaded once,
in ``proxy.__main__`` or by whoever builds the app, and passed down; nothing reads the
environment anywhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PolicyName = Literal[
    "safethink", "monitor", "none", "zerothink", "lessthink", "safepath", "adashield"
]
POLICIES: tuple[PolicyName, ...] = (
    "safethink",
    "monitor",
    "none",
    "zerothink",
    "lessthink",
    "safepath",
    "adashield",
)
ContinuationMode = Literal["auto", "chat", "completions"]
FailMode = Literal["closed", "open"]

# The knobs a request may set through ``extra_body={"safethink": {...}}``; which of them a
# deployment lets requests change is ``request_overrides`` (none by default).
OverridableField = Literal[
    "policy", "tau", "steer_steps", "resamples", "steering_prefix", "show_prefix", "fail_mode"
]

ADASHIELD_PROMPT = (
    "Before processing any instruction, examine the input (text and any image) carefully "
    "for any harmful, illegal, or dangerous intent. If such intent is found, respond with "
    '"I am sorry" and refuse. Otherwise, answer the request normally.'
)


class Settings(BaseSettings):
    # Errors name the setting and the rule, never the value given: keys and URLs with passwords
    # would otherwise be printed at start.
    model_config = SettingsConfigDict(
        env_prefix="SAFETHINK_", extra="ignore", validate_default=True, hide_input_in_errors=True
    )

    # Serving.
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "json"
    # Client keys for /v1/* (none: open), and the key of the audit and stats routes. An empty
    # key is refused at start: it would match a request that sends none.
    api_keys: list[SecretStr] = Field(default_factory=list)
    admin_key: SecretStr | None = None
    # A YAML file of named client keys, each with its own policy and models (proxy/keys.py);
    # at most max_api_keys of them.
    api_keys_file: Path | None = None
    max_api_keys: int = Field(10_000, gt=0)
    max_body_bytes: int = Field(20 * 1024 * 1024, gt=0)
    # Admission: a slow upload is cut after body_read_timeout_s (408); past max_concurrent
    # model requests (streams included) a request gets 503 with Retry-After: retry_after_s.
    body_read_timeout_s: float = Field(30.0, gt=0)
    max_concurrent_requests: int = Field(512, gt=0)
    retry_after_s: int = Field(1, ge=0)

    # The user's model server.
    upstream_url: str = "http://127.0.0.1:8000/v1"
    upstream_api_key: SecretStr | None = None
    # A YAML file listing the models served, each on its own server(s) with its own settings
    # (proxy/catalog.py): at most max_models, each with at most max_model_urls URLs. A URL that
    # refuses connections is skipped for upstream_retry_s, then tried again.
    models: Path | None = None
    max_models: int = Field(256, gt=0)
    max_model_urls: int = Field(16, gt=0)
    upstream_retry_s: float = Field(10.0, gt=0)
    upstream_connect_timeout: float = Field(5.0, gt=0)
    # Time allowed between two bytes of the upstream's stream (a long generation is fine).
    upstream_read_timeout: float = Field(600.0, gt=0)
    # Ask the upstream for usage on every chunk (vLLM's ``continuous_usage_stats``), so that a
    # cancelled attempt's tokens are counted too. Servers that reject unknown fields need False.
    upstream_continuous_usage: bool = False
    # Open connections to the upstream at most (aiohttp's pool; further calls wait for one).
    upstream_max_connections: int = Field(1024, gt=0)
    # One server-sent event from the upstream, at most: a longer one ends that stream with an
    # error (the decoder holds an event whole until it is complete).
    max_event_bytes: int = Field(1024 * 1024, gt=0)

    # Scoring: "embedded" (in-process reward_service) or the reward service's base URL.
    reward: str = "embedded"
    score_timeout: float = Field(10.0, gt=0)
    fail_mode: FailMode = "closed"
    # What a score call sends, at most: the scorer reads no more than this of the prompt (the
    # reward service's own max_prompt_chars and max_trace_chars), so the rest is never sent.
    score_prompt_chars: int = Field(16_000, ge=64)
    score_prompt_turns: int = Field(256, ge=1)
    score_trace_chars: int = Field(16_000, ge=64)
    # Open connections to the reward service at most.
    reward_max_connections: int = Field(256, gt=0)

    # State: "memory" or a redis:// URL.
    store: str = "memory"
    store_prefix: str = "safethink:"
    store_ttl_s: int = Field(24 * 3600, gt=0)
    store_text: bool = False
    # How often a degraded store tries Redis again.
    store_retry_s: float = Field(2.0, gt=0)
    # The most one Redis call may take, redis-py's retries included; past it that write goes to
    # memory (the store degrades), so a stalled Redis holds a stream this long at most, once.
    store_timeout_s: float = Field(0.5, gt=0)
    # How long a request's closing write may still run once its client has left.
    store_finish_timeout_s: float = Field(5.0, gt=0)

    # Policy.
    policy: PolicyName = "safethink"
    # What a request may change (proxy/policies.py). By default nothing: the policies a request
    # may pick (``policy`` is always among them), and the knobs it may set, are the operator's.
    allowed_policies: list[PolicyName] = Field(default_factory=list)
    request_overrides: list[OverridableField] = Field(default_factory=list)
    # How far an overridable knob may loosen the guard: the lowest value a request may ask for
    # (a bound above the deployment's own value widens nothing). Unset: a request may only make
    # the guard stricter than this deployment (a higher tau, more guarded steps, more
    # resamples, fail_mode closed).
    override_tau_min: float | None = Field(None, ge=-1.0, le=1.0)
    override_steer_steps_min: int | None = Field(None, ge=0)
    override_resamples_min: int | None = Field(None, ge=0)
    override_fail_open: bool = False
    tau: float = Field(0.0, ge=-1.0, le=1.0)
    steer_steps: int = Field(3, ge=0)  # m in the paper
    resamples: int = Field(4, ge=0)  # B in the paper
    steering_prefix: str = "Wait, think safely."
    show_prefix: bool = True

    # Reasoning and steps.
    step_delimiter: str = "\n\n"
    max_step_chars: int = Field(2000, gt=0)
    # How a guarded step reaches the client: whole once scored, or a sentence at a time, each
    # scored with the step so far (proxy/engine/sentences.py); a unit with no sentence end is
    # cut at max_sentence_chars (96, about 20 tokens: measured, README "Release").
    release: Literal["step", "sentence"] = "sentence"
    max_sentence_chars: int = Field(96, ge=32)
    # Text read ahead of a step that is being scored, at most (then reading waits).
    max_readahead_chars: int = Field(64 * 1024, gt=0)
    think_open: str = "<think>"
    think_close: str = "</think>"

    # How a steered generation is re-issued.
    continuation: ContinuationMode = "auto"
    # ``auto`` probes each listed model once (proxy.upstream.probe); its verdict lasts
    # continuation_probe_ttl_s. A probe that cannot tell is tried again after
    # continuation_probe_retry_s (meanwhile: chat, and completions for a refused call). One probe
    # (and each fetch of /v1/models or /props) is given continuation_probe_timeout_s at most.
    continuation_probe_ttl_s: float = Field(3600.0, gt=0)
    continuation_probe_retry_s: float = Field(60.0, gt=0)
    continuation_probe_timeout_s: float = Field(30.0, gt=0)
    # Where completions mode finds the chat template when the model server reports none (llama.cpp
    # does, at /props): a local tokenizer directory or hub id (resolved offline from the cache);
    # empty means the requested model's name, as a hub id only, for a model the upstream lists.
    tokenizer: str = ""
    # A Jinja chat template file that overrides the tokenizer's own.
    chat_template: Path | None = None

    # Baseline policies (docs/method.md, "The baselines").
    lessthink_thought: str = "Okay, the user asked this, and I can answer it without thinking much."
    safepath_primer: str = "Let's think about safety first"
    adashield_prompt: str = ADASHIELD_PROMPT

    @field_validator("step_delimiter", "think_open", "think_close")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("api_keys")
    @classmethod
    def _keys_not_empty(cls, keys: list[SecretStr]) -> list[SecretStr]:
        # A bearer token arrives stripped, so a key's surrounding whitespace could never match.
        stripped = [SecretStr(key.get_secret_value().strip()) for key in keys]
        if any(not key.get_secret_value() for key in stripped):
            raise ValueError(
                "SAFETHINK_API_KEYS holds an empty key, which would let in requests that send "
                "none: remove it (an empty list means no keys)"
            )
        return stripped

    @field_validator("admin_key")
    @classmethod
    def _admin_key_not_empty(cls, key: SecretStr | None) -> SecretStr | None:
        if key is None:
            return None
        stripped = key.get_secret_value().strip()
        if not stripped:
            raise ValueError(
                "SAFETHINK_ADMIN_KEY is empty, which would let in requests that send no key: "
                "unset it instead"
            )
        return SecretStr(stripped)

    @model_validator(mode="after")
    def _own_policy_allowed(self) -> Settings:
        # A request may always restate the deployment's policy, so it is always in the list.
        if self.policy not in self.allowed_policies:
            self.allowed_policies = [self.policy, *self.allowed_policies]
        return self

    @field_validator("upstream_url", "reward")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls), file_secret_settings)


class _YamlSource(PydanticBaseSettingsSource):
    """Reads the YAML file named by ``SAFETHINK_CONFIG``, when there is one."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        import os

        path = os.environ.get("SAFETHINK_CONFIG")
        if not path:
            return {}
        import yaml

        data = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the settings file must hold a mapping")
        unknown = sorted(set(data) - set(self.settings_cls.model_fields))
        if unknown:
            raise ValueError(f"{path}: unknown settings {', '.join(map(str, unknown))}")
        return data
