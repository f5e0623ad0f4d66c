"""The one interface every backend implements, and the item form the engine hands them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from reward_service.schemas import ScoreResult


@dataclass(frozen=True, slots=True)
class PreparedItem:
    """An item after the engine's character budgets: what a backend scores."""

    turns: tuple[tuple[str, str], ...]  # (role, text) user/assistant turns of the request
    prompt: str  # the user turns as one text
    trace: str
    truncated: bool  # the engine already cut something out of this item


class Backend(ABC):
    """Something that turns prepared items into scores in [-1, 1] (positive = safe): a
    `ModelBackend` computing them here, or a `RemoteBackend` asking a server.

    `load` and `close` block: the engine calls them in the device's worker thread.
    """

    name: ClassVar[str]

    def __init__(self) -> None:
        self.model_name = "unloaded"

    @abstractmethod
    def load(self) -> None:
        """Load the model; raise ModelLoadError (from the library error) when it cannot."""

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release what `load` acquired."""

    async def aclose(self) -> None:  # noqa: B027 - only network backends hold anything
        """Release what an asynchronous backend holds (network clients)."""


class ModelBackend(Backend):
    """A model in this process: `forward` blocks, in the device's worker thread."""

    @abstractmethod
    def forward(self, items: list[PreparedItem]) -> list[ScoreResult]:
        """Score one batch."""


class RemoteBackend(Backend):
    """A model behind a server: `aforward` awaits it on the event loop, several batches at once
    (the server batches across them)."""

    @abstractmethod
    async def aforward(self, items: list[PreparedItem]) -> list[ScoreResult]:
        """Score one batch."""


def clamp_score(score: float) -> float:
    """Scores stay in [-1, 1] whatever float rounding did."""
    return max(-1.0, min(1.0, score))

