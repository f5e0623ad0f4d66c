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

    Whitespace before the opening tag is held while the shape is undecided, but no more than
    ``max_lead`` characters of it (default 1024; servers send a newline or two): a longer run
    of whitespace before any visible text means there is no thinking block, and the stream is
    content from its start (shape "content"), released at once. The rule depends on the text
    alone, never on how it is chunked, and each character is looked at a bounded number of
    times.
    """

    def __init__(
        self,
        open_tag: str = "<think>",
        close_tag: str = "</think>",
        state: str = "start",
        max_lead: int = 1024,
    ) -> None:
        self.open_tag = open_tag
        self.close_tag = close_tag
        self.state = state
        self.max_lead = max_lead
        self.shape: Shape | None = None
        self._held = ""  # text that may be the start of a tag
        self._lead = 0  # in "start": how much of _held is whitespace before any visible text
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
        if self.state == "start":
            return self._start(text)
        self._held += text
        return self._think()

    def finish(self) -> list[Piece]:
        """End of stream: release text held back while waiting for a tag."""
        if self.state == "think":
            return self._emit_held_as("reasoning")
        if self.state == "start" and self._held:
            self.state = "answer"
            self.shape = self.shape or "content"
        return self._emit_held_as("content")

    def _start(self, text: str) -> list[Piece]:
        if self._lead == len(self._held):  # only whitespace so far: only the new text is looked at
            self._lead += len(text) - len(text.lstrip())
        self._held += text
        if self._lead > self.max_lead:
            self.state, self.shape = "answer", self.shape or "content"
            return self._emit_held_as("content")
        visible = self._held[self._lead :]  # at most a partial tag and the new text
        if visible.startswith(self.open_tag):
            self.state, self.shape = "think", self.shape or "inline"
            self._held, self._lead = visible[len(self.open_tag) :], 0
            return self._think()
        if not visible or self.open_tag.startswith(visible):
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
        held, self._held, self._lead = self._held, "", 0
        return [Piece(kind, held)] if held else []


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of text that is a proper prefix of tag."""
    index = text.find(tag[0], max(0, len(text) - len(tag) + 1))
    while index >= 0:
        if tag.startswith(text[index:]):
            return len(text) - index
        index = text.find(tag[0], index + 1)
    return 0
