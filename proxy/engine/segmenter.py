"""Cuts a streamed reasoning trace into steps.

A step ends with the delimiter (default a blank line, ``"\\n\\n"``), which stays part of the step,
so that joining the steps gives back the trace exactly. Where no delimiter comes, a step is cut
once it is ``max_chars`` long, at the last whitespace in its second half (or hard at
``max_chars`` when there is none). A delimiter that would close a step holding nothing but
whitespace does not cut: blank lines are glued to the following step, so that no step is empty.

Every decision depends on the text alone, never on how it was split into chunks: the segmenter
waits until it has seen enough characters to be sure (a delimiter split across two chunks, or
one that straddles the length limit, is seen whole before it decides). Multi-byte characters
are whole by the time they get here (the SSE decoder decodes UTF-8 incrementally).
"""

from __future__ import annotations


class Segmenter:
    def __init__(self, delimiter: str = "\n\n", max_chars: int = 2000) -> None:
        if not delimiter:
            raise ValueError("the step delimiter must not be empty")
        if max_chars < 1:
            raise ValueError("max_chars must be positive")
        self.delimiter = delimiter
        self.max_chars = max_chars
        self._buffer = ""
        # Characters at the head of the buffer that do not count as a step's own content (the
        # steering prefix at the start of a resample: a prefix alone is not a step).
        self._lead = 0
        # Where the search for the delimiter resumes; text before it has been searched.
        self._scan = 0
        # The first character after the lead that is not whitespace, once found (-1 before);
        # until then, how far the whitespace after the lead has been checked. Blank text is
        # looked at once, never re-stripped on every chunk.
        self._visible = -1
        self._blank = 0

    @property
    def pending(self) -> str:
        """The text of the step in progress."""
        return self._buffer

    def lead(self, text: str) -> None:
        """Start the next step with text that alone does not make a step (a steering prefix)."""
        self._buffer += text
        self._lead = len(self._buffer)
        self._scan = len(self._buffer)
        self._visible, self._blank = -1, self._lead

    def feed(self, text: str) -> list[str]:
        """Add streamed text; return the steps it completed, in order."""
        self._buffer += text
        steps: list[str] = []
        while (cut := self._find_cut()) is not None:
            steps.append(self._buffer[:cut])
            self._buffer = self._buffer[cut:]
            self._lead = 0
            self._scan = 0
            self._visible, self._blank = -1, 0
        return steps

    def flush(self) -> str:
        """End of the trace: return what is left (possibly empty or only whitespace)."""
        rest, self._buffer, self._lead, self._scan = self._buffer, "", 0, 0
        self._visible, self._blank = -1, 0
        return rest

    def _find_cut(self) -> int | None:
        buffer, delim = self._buffer, self.delimiter
        limit = self.max_chars
        # A delimiter cuts only after some visible text (finding it moves _scan past it).
        if self._visible >= 0 or self._first_visible(min(len(buffer), limit)) >= 0:
            index = buffer.find(delim, self._scan, limit + len(delim) - 1)
            if index >= 0:
                return index + len(delim)
        # No delimiter starting before the limit. Remember where to resume: a delimiter may
        # still be arriving across the next chunk boundary.
        self._scan = max(self._scan, min(len(buffer), limit) - len(delim) + 1, 0)
        if len(buffer) < limit + len(delim) - 1:
            return None
        return self._length_cut()

    def _length_cut(self) -> int:
        limit = self.max_chars
        visible = self._first_visible(limit)
        if visible < 0:
            return limit  # nothing but whitespace: cut hard, there is no better place
        head = self._buffer
        for index in range(limit - 1, max(visible + 1, limit // 2) - 1, -1):
            if head[index].isspace():
                return index + 1
        return limit

    def _first_visible(self, end: int) -> int:
        """Where the first character after the lead that is not whitespace is, if before end;
        else -1. Each character is looked at once, however often this is asked."""
        if self._visible < 0:
            start = max(self._blank, self._lead)
            if end > start:
                part = self._buffer[start:end]
                blank = len(part) - len(part.lstrip())
                if blank < len(part):
                    self._visible = start + blank
                    self._scan = max(self._scan, self._visible + 1)  # no cut before it
                else:
                    self._blank = end
        return self._visible if 0 <= self._visible < end else -1
