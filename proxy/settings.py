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

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PolicyName = Literal["safethink", "none", "zerothink", "lessthink", "safepath", "adashield"]
POLICIES: tuple[PolicyName, ...] = (
    "safethink",
    "none",
    "zerothink",
    "lessthink",
    "safepath",
    "adashield",
)
ContinuationMode = Literal["auto", "chat", "completions"]
FailMode = Literal["closed", "open"]

# The knobs a request may set through ``extra_body={"safethink": {...}}``; which of them a
# deployment lets requests change is ``request_overrides``.
OverridableField = Literal[
    "policy", "tau", "steer_steps", "resamples", "steering_prefix", "show_prefix", "fail_mode"
]

_OVERRIDES: tuple[OverridableField, ...] = ("policy",)

ADASHIELD_PROMPT = (
    "Before processing any instruction, examine the input (text and any image) carefully "
    "for any harmful, illegal, or dangerous intent. If such intent is found, respond with "
    '"I am sorry" and refuse. Otherwise, answer the request normally.'
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SAFETHINK_", extra="ignore", validate_default=True
    )

    # Serving.
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "json"
    # Client keys for /v1/* (none: open), and the key of the audit and stats routes.
    api_keys: list[SecretStr] = Field(default_factory=list)
    admin_key: SecretStr | None = None
    max_body_bytes: int = Field(20 * 1024 * 1024, gt=0)

    # The user's model server.
    upstream_url: str = "http://127.0.0.1:8000/v1"
    upstream_api_key: SecretStr | None = None
    upstream_connect_timeout: float = Field(5.0, gt=0)
    # Time allowed between two bytes of the upstream's stream (a long generation is fine).
    upstream_read_timeout: float = Field(600.0, gt=0)
    # Ask the upstream for usage on every chunk (vLLM's ``continuous_usage_stats``), so that a
    # cancelled attempt's tokens are counted too. Servers that reject unknown fields need False.
    upstream_continuous_usage: bool = False

    # Scoring: "embedded" (in-process reward_service) or the reward service's base URL.
    reward: str = "embedded"
    score_timeout: float = Field(10.0, gt=0)
    fail_mode: FailMode = "closed"

    # State: "memory" or a redis:// URL.
    store: str = "memory"
    store_prefix: str = "safethink:"
    store_ttl_s: int = Field(24 * 3600, gt=0)
    store_text: bool = False
    # How often a degraded store tries Redis again.
    store_retry_s: float = Field(2.0, gt=0)

    # Policy.
    policy: PolicyName = "safethink"
    allowed_policies: list[PolicyName] = Field(default_factory=lambda: list(POLICIES))
    request_overrides: list[OverridableField] = Field(default_factory=lambda: list(_OVERRIDES))
    tau: float = Field(0.0, ge=-1.0, le=1.0)
    steer_steps: int = Field(3, ge=0)  # m in the paper
    resamples: int = Field(4, ge=0)  # B in the paper
    steering_prefix: str = "Wait, think safely."
    show_prefix: bool = True

    # Reasoning and steps.
    step_delimiter: str = "\n\n"
    max_step_chars: int = Field(2000, gt=0)
    think_open: str = "<think>"
    think_close: str = "</think>"

    # How a steered generation is re-issued.
    continuation: ContinuationMode = "auto"
    # Where completions mode finds the chat template: a local tokenizer directory or hub id
    # (resolved offline from the cache); empty means the requested model's name.
    tokenizer: str = ""
    # A Jinja chat template file that overrides the tokenizer's own.
    chat_template: Path | None = None

    # Baseline policies (PAPER.md).
    lessthink_thought: str = "Okay, the user asked this, and I can answer it without thinking much."
    safepath_primer: str = "Let's think about safety first"
    adashield_prompt: str = ADASHIELD_PROMPT

    @field_validator("step_delimiter", "think_open", "think_close")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value

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
