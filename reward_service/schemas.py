"""Wire types of `POST /v1/score`, shared with the proxy's embedded mode."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reward_service.text import has_text

# A hard cap for the schema; the app enforces the (smaller) configured `max_items`.
SCHEMA_MAX_ITEMS = 4096


def _check_content(index: int, content: Any) -> None:
    """A message content is a string or a list of parts; a text part's text is a string."""
    if content is None or isinstance(content, str):
        return
    if not isinstance(content, list):
        raise ValueError(f"prompt[{index}].content must be a string or a list")
    for position, part in enumerate(content):
        if isinstance(part, str):
            continue
        if not isinstance(part, dict):
            raise ValueError(f"prompt[{index}].content[{position}] must be a content part object")
        if part.get("type") == "text" and not isinstance(part.get("text"), str):
            raise ValueError(f"prompt[{index}].content[{position}].text must be a string")


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
                _check_content(index, message.get("content"))
        return value

    @model_validator(mode="after")
    def _has_text(self) -> ScoreItem:
        # A scan that stops at the first text found; it builds no text (the engine does that
        # once, off the event loop, within its caps).
        if has_text(self.trace):
            return self
        prompt = self.prompt
        if isinstance(prompt, str) and has_text(prompt):
            return self
        if isinstance(prompt, list) and any(
                m.get("role") == "user" and has_text(m.get("content")) for m in prompt):
            return self
        raise ValueError("item has no text to score: prompt and trace are both empty")


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
