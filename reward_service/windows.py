"""What the cross-encoder reads of an item: token windows over a long request, and the pair it
scores for a trace.

Request mode (empty trace) reads the whole request, however long (within the engine's character
budget): its tokens are cut into windows of `size` tokens that overlap by `size - stride`. Any
span of at most `size - stride` tokens, a harmful question buried in a long jailbreak wrapper for
one, lies whole inside some window, wherever it sits. A request of several paragraphs is also
read a paragraph at a time (each that fits a window): a question set apart in a paragraph of its
own, as wrappers usually put it, is then read alone, not averaged with the wrapper text around it.
A paragraph here is a block of the text's own: a list (items set apart by blank lines) is one
block, and a fragment of fewer than `MIN_PARAGRAPH_WORDS` words is read with the paragraph after
it. An item of a pasted list ("2. **Refactor the schema**: ...") or a stray "some of the" read
alone looks like the middle of an answer, not like a request, and was what flagged most benign
questions in long pasted contexts (README, "Where it is weak").
The windows and those paragraphs are the request's units (`request_units`), and the request
scores as its least safe unit. Training reads a request as its windows only: training on the
paragraphs too was tried and not kept (README, "Where it is weak").

Trace mode pairs the request's core with the trace's newest text. The core is the request's least
safe unit (the whole request when it fits one window), so the question a wrapper hides is what
the trace is judged against; the trace keeps its newest tokens, since the newest step is the one
that decides whether the model now complies or refuses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

Ids = list[int]
PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
LIST_ITEM = re.compile(r"(?:\d{1,3}[.)]|[-*+\u2022])\s")
MIN_PARAGRAPH_WORDS = 6


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """Window geometry, in tokens (special tokens not counted)."""

    size: int = 128
    stride: int = 96
    max_windows: int = 40  # 40 x 96 + 32 = 3,872 tokens: a 16,000-character request whole
    max_pair_tokens: int = 256  # [CLS] core [SEP] trace [SEP]: the trace keeps 125 at least
    max_paragraphs: int = 64  # read alone besides the windows; beyond it, the middle ones are not

    def __post_init__(self) -> None:
        if not 0 < self.stride <= self.size:
            raise ValueError("window stride must be in (0, size]")
        if self.max_pair_tokens < self.size + 3 + 16:
            raise ValueError("max_pair_tokens must hold a whole window and some trace")


def window_spans(n_tokens: int, spec: WindowSpec) -> tuple[list[tuple[int, int]], bool]:
    """Spans [start, end) covering `n_tokens` tokens; the last one ends at the end. Beyond
    `max_windows` the middle windows are dropped (reported), keeping the start and the end."""
    if n_tokens <= spec.size:
        return [(0, n_tokens)], False
    starts = [*range(0, n_tokens - spec.size, spec.stride), n_tokens - spec.size]
    cut = len(starts) > spec.max_windows
    if cut:
        head = spec.max_windows // 2
        starts = starts[:head] + starts[len(starts) - (spec.max_windows - head):]
    return [(s, s + spec.size) for s in starts], cut


def request_windows(ids: Sequence[int], spec: WindowSpec) -> tuple[list[Ids], bool]:
    """The request's token windows, and whether any of its tokens went unread."""
    spans, cut = window_spans(len(ids), spec)
    return [list(ids[a:b]) for a, b in spans], cut


def paragraphs(text: str, spec: WindowSpec) -> list[str]:
    """The paragraphs of a request of several, to be read alone (none for a single paragraph:
    its windows already read it so). Past `max_paragraphs` the middle ones are left to the
    windows."""
    parts = blocks([part for part in map(str.strip, PARAGRAPH_BREAK.split(text)) if part])
    if len(parts) < 2:
        return []
    if len(parts) > spec.max_paragraphs:
        head = spec.max_paragraphs // 2
        parts = parts[:head] + parts[len(parts) - (spec.max_paragraphs - head):]
    return parts


def blocks(parts: Sequence[str]) -> list[str]:
    """Paragraphs into the blocks read alone: consecutive list items make one block, and a
    fragment of fewer than MIN_PARAGRAPH_WORDS words joins the paragraph after it (the one before
    it when it comes last). Every word is kept, in order."""
    out: list[str] = []
    carry = ""
    for part in parts:
        text = f"{carry} {part}" if carry else part
        carry = ""
        if len(text.split()) < MIN_PARAGRAPH_WORDS:
            carry = text
        elif out and LIST_ITEM.match(text) and LIST_ITEM.match(out[-1]):
            out[-1] = f"{out[-1]}\n\n{text}"
        else:
            out.append(text)
    if carry and out:
        out[-1] = f"{out[-1]} {carry}"
    elif carry:
        out.append(carry)
    return out


def request_units(windows: Sequence[Ids], paragraph_ids: Sequence[Ids],
                  spec: WindowSpec) -> list[Ids]:
    """What request mode scores: the windows, then each paragraph that fits a window and is not
    already a unit (each is read once). The request scores as its least safe unit."""
    fitting = (p for p in paragraph_ids if len(p) <= spec.size)
    return [list(unit) for unit in dict.fromkeys(tuple(ids) for ids in [*windows, *fitting])]


def pair(core: Sequence[int], trace: Sequence[int], spec: WindowSpec) -> tuple[Ids, Ids, bool]:
    """(core ids, trace ids) cut to fit `max_pair_tokens` with the three special tokens: the core
    keeps its head up to one window, the trace keeps its newest tokens; and whether either was
    cut."""
    core_kept = list(core[: spec.size])
    room = spec.max_pair_tokens - 3 - len(core_kept)
    trace_kept = list(trace[-room:]) if len(trace) > room else list(trace)
    return core_kept, trace_kept, len(core_kept) < len(core) or len(trace_kept) < len(trace)
