"""Wire types of `POST /v1/score`, shared with the proxy's embedded mode."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reward_service.text import prompt_text

# A hard cap for the schema; the app enforces the (smaller) configured `max_items`.
SCHEMA_MAX_ITEMS = 4096


class ScoreItem(BaseModel):
    """One thing to score: the request (text or OpenAI chat messages) and the trace so far.

    An empty trace rates the request; a non-empty trace rates whether the trace complies with
    harm in the context of the request (a refusal on a harmful topic is safe).
    """

    model_config = ConfigDict(extra="forbid")

    prompt: str | list[dict[str, Any]]
    trace: str = ""

    @field_validator("prompt")
    @classmethod
    def _messages_have_roles(
        cls, value: str | list[dict[str, Any]]
    ) -> str | list[dict[str, Any]]:
        if isinstance(value, list):
            for index, message in enumerate(value):
                if not isinstance(message.get("role"), str):
                    raise ValueError(f"prompt[{index}] has no string 'role'")
                content = message.get("content")
                if content is not None and not isinstance(content, str | list):
                    raise ValueError(f"prompt[{index}].content must be a string or a list")
        return value

    @model_validator(mode="after")
    def _has_text(self) -> ScoreItem:
        if not prompt_text(self.prompt).strip() and not self.trace.strip():
            raise ValueError("item has no text to score: prompt and trace are both empty")
        return self


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ScoreItem] = Field(min_length=1, max_length=SCHEMA_MAX_ITEMS)


class ScoreResult(BaseModel):
    score: float = Field(ge=-1.0, le=1.0, description="positive = safe; tau = 0")
    raw: dict[str, float] = Field(default_factory=dict)
    truncated: bool = False


class ScoreResponse(BaseModel):
    model: str
    backend: str
    results: list[ScoreResult]
