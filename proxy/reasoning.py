"""Finds the reasoning in an upstream's stream, whatever shape the server gives it.

Servers return the thinking block in one of three shapes: ``delta.reasoning_content`` (vLLM's
reasoning parsers, SGLang, DeepSeek's API), ``delta.reasoning`` (newer vLLM), or inline in
``delta.content`` between ``<think>`` and ``</think>`` (servers without a reasoning parser, and
every ``/v1/completions`` stream). The proxy parses the tags itself and never relies on the
server's parser for its decisions: a re-issued continuation starts inside the thinking block,
where a server's parser may file the text under either field.

A stream whose first visible text is neither a reasoning field nor an opening tag has no thinking
block; the proxy then monitors its content instead (``Shape`` "content").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Shape = Literal["reasoning_content", "reasoning", "inline", "content"]
Kind = Literal["reasoning", "content", "think_end"]


@dataclass(slots=True)
class Piece:
    kind: Kind
    text: str = ""


class ReasoningParser:
    """Turns the text of successive deltas into reasoning and content pieces.

    ``state`` is "start" (nothing visible yet: an opening tag may still come), "think" (inside
    the thinking block) or "answer" (after it, or no block at all).
    """

    def __init__(
        self, open_tag: str = "<think>", close_tag: str = "</think>", state: str = "start"
    ) -> None:
        self.open_tag = open_tag
        self.close_tag = close_tag
        self.state = state
        self.shape: Shape | None = None
        self._held = ""  # text that may be the start of a tag
        self._field_seen = False

    def reasoning_field(
        self, field: Literal["reasoning_content", "reasoning"], text: str
    ) -> list[Piece]:
        """Text of a reasoning field: always reasoning, and it opens the block if need be."""
        self._field_seen = True
        if self.shape is None:
            self.shape = field
        pieces: list[Piece] = []
        if self.state == "start":
            pieces += self._emit_held_as("reasoning")
            self.state = "think"
        pieces.append(Piece("reasoning", text))
        return pieces

    def content(self, text: str) -> list[Piece]:
        """Text of ``delta.content`` (or of a completions stream's ``text``)."""
        if self.state == "answer":
            return [Piece("content", text)]
        if self.state == "think" and self._field_seen:
            # The server's own parser closed the block and moved on to the answer.
            self.state = "answer"
            return [Piece("think_end"), Piece("content", text)]
        self._held += text
        if self.state == "start":
            return self._start()
        return self._think()

    def finish(self) -> list[Piece]:
        """End of stream: release text held back while waiting for a tag."""
        if self.state == "think":
            return self._emit_held_as("reasoning")
        if self.state == "start" and self._held:
            self.state = "answer"
            self.shape = self.shape or "content"
        return self._emit_held_as("content")

    def _start(self) -> list[Piece]:
        stripped = self._held.lstrip()
        if stripped.startswith(self.open_tag):
            self.state, self.shape = "think", self.shape or "inline"
            self._held = stripped[len(self.open_tag) :]
            return self._think()
        if not stripped or self.open_tag.startswith(stripped):
            return []  # still undecided
        self.state, self.shape = "answer", self.shape or "content"
        return self._emit_held_as("content")

    def _think(self) -> list[Piece]:
        held = self._held
        index = held.find(self.close_tag)
        if index >= 0:
            self.state = "answer"
            after = held[index + len(self.close_tag) :]
            self._held = ""
            pieces = [Piece("reasoning", held[:index])] if index else []
            pieces.append(Piece("think_end"))
            if after:
                pieces.append(Piece("content", after))
            return pieces
        keep = _partial_suffix(held, self.close_tag)
        self._held = held[len(held) - keep :] if keep else ""
        text = held[: len(held) - keep]
        return [Piece("reasoning", text)] if text else []

    def _emit_held_as(self, kind: Kind) -> list[Piece]:
        held, self._held = self._held, ""
        return [Piece(kind, held)] if held else []


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of text that is a proper prefix of tag."""
    index = text.find(tag[0], max(0, len(text) - len(tag) + 1))
    while index >= 0:
        if tag.startswith(text[index:]):
            return len(text) - index
        index = text.find(tag[0], index + 1)
    return 0
