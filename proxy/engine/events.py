"""What the steering engine hands to the response writers: the generation as the client should
see it, free of the upstream's wire format. ``render.py`` writes it back in OpenAI's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Reasoning:
    text: str


@dataclass(slots=True)
class Content:
    text: str


@dataclass(slots=True)
class ThinkEnd:
    """The thinking block closed (inline shape: the client gets the closing tag)."""


@dataclass(slots=True)
class Delta:
    """Other delta fields (tool_calls, refusal...), passed on as the upstream sent them."""

    fields: dict[str, Any]


@dataclass(slots=True)
class Finish:
    reason: str | None


Event = Reasoning | Content | ThinkEnd | Delta | Finish
