"""How a guarded step is released: whole (``release=step``), or a sentence at a time
(``release=sentence``).

Under sentence release a step in progress is cut into units, each scored with everything
accepted before it and released as soon as it scores safe. A unit ends after a run of ``.``,
``!`` or ``?`` (closing quotes and brackets may follow) and the whitespace after it; the cut is
made once the next visible character has arrived, so that it depends on the text alone, never on
how the text was split into chunks ("3.14" is not cut, and the whitespace run is whole). A unit
shorter than ``MIN_UNIT_CHARS`` is merged with the next ("1. ", "Hmm. "): every unit costs a
score call. A unit with no sentence end is cut once it is ``max_chars`` long, at its last
whitespace in its second half (hard at ``max_chars`` when there is none). The end of the step
closes its last unit. The steering prefix at the head of a resampled step is never a unit of its
own: only sentence ends after it count.
"""

from __future__ import annotations

import re
from typing import Protocol

MIN_UNIT_CHARS = 16
# A sentence end: terminators, optional closers, whitespace, and a visible character after it
# (looked at, not taken: it begins the next unit).
_CLOSERS = "\"')]\u201d\u2019"  # quotes (straight and curly) and brackets
_END = re.compile(rf"[.!?\u2026]+[{re.escape(_CLOSERS)}]*\s+(?=\S)")
_TAIL = frozenset(".!?\u2026" + _CLOSERS)


class Release(Protocol):
    """Cuts the step in progress into the units that are scored and released one by one."""

    def lead(self, length: int) -> None:
        """The step in progress starts with ``length`` characters that are not a unit."""

    def more(self, pending: str) -> list[str]:
        """The units completed in ``pending`` (the step in progress) since the last call."""

    def close(self, step: str) -> list[str]:
        """``step`` is complete: its units not released yet, the last of which closes it (and
        may be empty, when the units released so far cover the whole step)."""


class StepRelease:
    """The whole step is one unit."""

    def lead(self, length: int) -> None:
        pass

    def more(self, pending: str) -> list[str]:
        return []

    def close(self, step: str) -> list[str]:
        return [step]


class SentenceRelease:
    def __init__(self, max_chars: int) -> None:
        if max_chars < 2 * MIN_UNIT_CHARS:
            raise ValueError(f"max_chars must be at least {2 * MIN_UNIT_CHARS}")
        self.max_chars = max_chars
        self._released = 0  # characters of the step in progress already cut into units
        self._scan = 0  # where the search for a sentence end resumes
        self._lead = 0

    def lead(self, length: int) -> None:
        self._lead = self._scan = length

    def more(self, pending: str) -> list[str]:
        units: list[str] = []
        while (cut := self._cut(pending)) is not None:
            units.append(pending[self._released : cut])
            self._released = self._scan = cut
        return units

    def close(self, step: str) -> list[str]:
        units = self.more(step)  # sentence ends in text that came with the step's end
        units.append(step[self._released :])
        self._released = self._scan = self._lead = 0
        return units

    def _cut(self, text: str) -> int | None:
        # The lead (a steering prefix) counts for no length: a unit's own text comes after it.
        start = max(self._released, self._lead)
        search_from = max(self._scan, start)
        while (found := _END.search(text, search_from)) is not None:
            end = found.end()
            if end - start > self.max_chars:
                break
            if end - start >= MIN_UNIT_CHARS:
                return end
            search_from = end
        else:
            self._scan = _resume_at(text, search_from)
        if len(text) - start <= self.max_chars:
            return None  # a sentence end within max_chars may still come
        return self._length_cut(text, start)

    def _length_cut(self, text: str, start: int) -> int:
        limit = start + self.max_chars
        for index in range(limit - 1, start + self.max_chars // 2 - 1, -1):
            if text[index].isspace():
                return index + 1
        return limit


def _resume_at(text: str, searched_from: int) -> int:
    """Where a later search must start: before the trailing run that could still become a
    sentence end once more text comes (terminators, closers, whitespace)."""
    index = len(text)
    while index > searched_from and (text[index - 1] in _TAIL or text[index - 1].isspace()):
        index -= 1
    return index
