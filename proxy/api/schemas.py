"""What crosses the proxy's HTTP boundary, typed. Unknown fields of a chat request are kept and
forwarded to the upstream as they are: the proxy validates only what it acts on."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, field_validator

from proxy.settings import FailMode, PolicyName


class SafeThinkOptions(BaseModel):
    """``extra_body={"safethink": {...}}``: per-request settings, within the allow-list and its
    bounds (proxy/policies.py). Strict: a guard's knob is taken only as the type it is, never
    coerced (``"tau": true`` or ``"steer_steps": "3"`` is a 400)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    policy: PolicyName | None = None
    tau: float | None = Field(None, ge=-1.0, le=1.0)
    steer_steps: int | None = Field(None, ge=0, le=64)
    resamples: int | None = Field(None, ge=0, le=64)
    steering_prefix: str | None = Field(None, min_length=1, max_length=500)
    show_prefix: bool | None = None
    fail_mode: FailMode | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None

    @field_validator("content")
    @classmethod
    def _text_parts_are_text(
        cls, value: str | list[dict[str, Any]] | None
    ) -> str | list[dict[str, Any]] | None:
        # The scorer reads the text parts: one that is not a string is the client's error.
        for index, part in enumerate(value if isinstance(value, list) else ()):
            if part.get("type") == "text" and not isinstance(part.get("text"), str):
                raise ValueError(f"content[{index}].text must be a string")
        return value


class ModelRequest(BaseModel):
    """What every client API's request has: the model, whether to stream, per-request options.
    Unknown fields are kept (each API decides what it forwards)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    stream: bool = False
    safethink: SafeThinkOptions | None = None


class ChatRequest(ModelRequest):
    """``POST /v1/chat/completions``."""

    messages: list[Message] = Field(min_length=1)
    n: int | None = Field(None, ge=1)
    logprobs: bool | None = None
    top_logprobs: int | None = None
    seed: int | None = None
    stream_options: dict[str, Any] | None = None


class CompletionRequest(ModelRequest):
    """``POST /v1/completions``: the fields the guard acts on; the rest is forwarded as it is."""

    # A string, a list of them, or token ids; only text (one prompt) can be scored.
    prompt: str | list[str] | list[int] | list[list[int]]
    n: int | None = Field(None, ge=1)
    best_of: int | None = Field(None, ge=1)
    logprobs: int | None = None
    echo: bool | None = None
    suffix: str | None = None
    stream_options: dict[str, Any] | None = None


class Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


# The counters of a Report, in the audit record and the log line.
REPORT_COUNTS = (
    "steps_scored",
    "violations",
    "steers",
    "resamples",
    "recovered",
    "exhausted",
    "fail_open",
    "upstream_calls",
)


class Report(TypedDict):
    """The ``safethink`` object on the final chunk or the non-streaming body."""

    request_id: str
    policy: str
    steps_scored: int
    scores: list[float]
    violations: int
    steers: int
    resamples: int
    recovered: int
    exhausted: int
    fail_open: int
    upstream_calls: int
    continuation: str | None
