"""What the cross-encoder reads: windows over a long request, and the (core, trace) pair."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reward_service.windows import (
    MIN_PARAGRAPH_WORDS,
    WindowSpec,
    blocks,
    pair,
    paragraphs,
    request_units,
    request_windows,
    window_spans,
)

SPEC = WindowSpec(size=16, stride=12, max_windows=1000, max_pair_tokens=40)


@given(st.integers(0, 400))
def test_windows_cover_every_token_and_never_exceed_their_size(n: int) -> None:
    spans, cut = window_spans(n, SPEC)
    assert not cut
    covered = {i for a, b in spans for i in range(a, b)}
    assert covered == set(range(n))
    assert all(b - a <= SPEC.size for a, b in spans)
    assert spans[-1][1] == n


@given(st.integers(1, 400), st.data())
def test_a_span_as_long_as_the_overlap_lies_whole_in_some_window(n: int, data: st.DataObject
                                                                 ) -> None:
    overlap = SPEC.size - SPEC.stride
    length = data.draw(st.integers(1, min(overlap, n)))
    start = data.draw(st.integers(0, n - length))
    spans, _ = window_spans(n, SPEC)
    assert any(a <= start and start + length <= b for a, b in spans)


def test_past_the_window_cap_the_middle_goes_and_the_ends_stay() -> None:
    spec = WindowSpec(size=16, stride=12, max_windows=4, max_pair_tokens=40)
    ids = list(range(200))
    windows, cut = request_windows(ids, spec)
    assert cut and len(windows) == 4
    assert windows[0][0] == 0 and windows[-1][-1] == 199


@given(st.lists(st.integers(0, 9), max_size=60), st.lists(st.integers(10, 19), max_size=200))
def test_a_pair_fits_and_keeps_the_newest_trace_tokens(core: list[int], trace: list[int]) -> None:
    kept_core, kept_trace, cut = pair(core, trace, SPEC)
    assert len(kept_core) + len(kept_trace) + 3 <= SPEC.max_pair_tokens
    assert kept_core == core[:SPEC.size]
    assert kept_trace == trace[len(trace) - len(kept_trace):]
    assert cut == (len(kept_core) < len(core) or len(kept_trace) < len(trace))


def test_a_geometry_that_cannot_hold_a_window_and_a_trace_is_refused() -> None:
    with pytest.raises(ValueError):
        WindowSpec(size=128, stride=96, max_pair_tokens=140)
    with pytest.raises(ValueError):
        WindowSpec(size=16, stride=0)


@given(st.lists(st.integers(0, 30), max_size=120),
       st.lists(st.lists(st.integers(0, 30), min_size=1, max_size=24), max_size=8))
def test_request_units_are_the_windows_then_each_new_paragraph_that_fits(
        ids: list[int], paragraph_ids: list[list[int]]) -> None:
    windows, _ = request_windows(ids, SPEC)
    units = request_units(windows, paragraph_ids, SPEC)
    assert len({tuple(u) for u in units}) == len(units)  # nothing read twice
    assert {tuple(w) for w in windows} <= {tuple(u) for u in units}
    fitting = {tuple(p) for p in paragraph_ids if len(p) <= SPEC.size}
    assert {tuple(u) for u in units} == {tuple(w) for w in windows} | fitting
    assert all(len(u) <= SPEC.size for u in units)


PARTS = st.lists(st.text(st.sampled_from("ab1.- \n"), min_size=1, max_size=30)
                 .map(str.strip).filter(bool), max_size=12)


@given(PARTS)
def test_blocks_keep_every_word_in_order_and_leave_no_fragment_alone(parts: list[str]) -> None:
    out = blocks(parts)
    assert " ".join(out).split() == " ".join(parts).split()
    if len(out) > 1:
        assert all(len(b.split()) >= MIN_PARAGRAPH_WORDS for b in out)


def test_a_pasted_list_is_read_as_one_block_and_a_stray_fragment_with_its_next_paragraph() -> None:
    text = ("Here are the notes from our planning meeting last week.\n\n"
            "1. **Refactor the schema**: drop the columns nobody reads.\n\n"
            "2. **Add an index**: on the customer id, for the nightly report.\n\n"
            "some of the\n\n"
            "Anyway, my question: what should we do first this sprint?")
    assert paragraphs(text, WindowSpec()) == [
        "Here are the notes from our planning meeting last week.",
        "1. **Refactor the schema**: drop the columns nobody reads.\n\n"
        "2. **Add an index**: on the customer id, for the nightly report.",
        "some of the Anyway, my question: what should we do first this sprint?",
    ]
