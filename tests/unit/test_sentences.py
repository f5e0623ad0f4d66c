"""Sentence release cuts a step into the same units whatever the chunking, and never loses or
adds a character; the step segmenter and the sentence cutter run together as the engine runs
them."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.engine.segmenter import Segmenter
from proxy.engine.sentences import MIN_UNIT_CHARS, SentenceRelease

TEXT = st.text(alphabet=st.sampled_from(list("ab  \n\n.!?\"')é☕")), max_size=400)


def units(text: str, cuts: list[int], *, max_step: int = 120, max_unit: int = 40,
          lead: str = "") -> list[tuple[str, bool]]:
    """(unit, closes its step) as the engine would hold them, for text fed in these chunks."""
    segmenter, release = Segmenter("\n\n", max_step), SentenceRelease(max_unit)
    if lead:
        segmenter.lead(lead)
        release.lead(len(lead))
    out: list[tuple[str, bool]] = []
    bounds = [0, *sorted(set(cuts)), len(text)]
    for start, end in itertools.pairwise(bounds):
        for step in segmenter.feed(text[start:end]):
            *body, last = release.close(step)
            out += [(unit, False) for unit in body] + [(last, True)]
        pending = segmenter.pending
        out += [(unit, False) for unit in release.more(pending[:max_step])]
    if rest := segmenter.flush():
        *body, last = release.close(rest)
        out += [(unit, False) for unit in body] + [(last, True)]
    return out


@st.composite
def text_and_cuts(draw: st.DrawFn) -> tuple[str, list[int]]:
    text = draw(TEXT)
    return text, draw(st.lists(st.integers(0, len(text)), max_size=40))


@settings(max_examples=400)
@given(text_and_cuts(), st.integers(2 * MIN_UNIT_CHARS, 80))
def test_same_units_whatever_the_chunking(case: tuple[str, list[int]], max_unit: int) -> None:
    text, cuts = case
    whole = units(text, [], max_unit=max_unit)
    assert units(text, cuts, max_unit=max_unit) == whole
    assert units(text, list(range(len(text))), max_unit=max_unit) == whole


@settings(max_examples=300)
@given(text_and_cuts())
def test_units_rebuild_the_text_within_their_bounds(case: tuple[str, list[int]]) -> None:
    text, cuts = case
    got = units(text, cuts)
    assert "".join(unit for unit, _ in got) == text
    for unit, closes in got:
        assert len(unit) <= 120 + 1  # a step's bound (its delimiter may close it one later)
        if not closes:
            assert MIN_UNIT_CHARS <= len(unit) <= 40


def test_a_step_is_released_a_sentence_at_a_time() -> None:
    text = "First I read the question. Then I think it over!\n\nStep two is here.\n\n"
    assert units(text, [5, 30, 31, 52]) == [
        ("First I read the question. ", False),
        ("Then I think it over!\n\n", True),
        ("Step two is here.\n\n", True),
    ]


def test_numbers_and_short_sentences_do_not_cut() -> None:
    text = "Pi is 3.14 or so. Hmm. Ok. That is all I know about it."
    assert [unit for unit, _ in units(text, [])] == [
        "Pi is 3.14 or so. ", "Hmm. Ok. That is all I know about it."]


def test_the_end_waits_for_the_next_visible_character() -> None:
    release = SentenceRelease(300)
    assert release.more("The first sentence is here. ") == []  # more whitespace may come
    assert release.more("The first sentence is here. \n") == []
    assert release.more("The first sentence is here. \nAnd") == ["The first sentence is here. \n"]


def test_a_steering_prefix_alone_is_never_a_unit() -> None:
    lead = "Wait, think safely. "
    got = units("I will not help. With that, here is a safe answer.", [], lead=lead)
    assert got[0] == (lead + "I will not help. ", False)


def test_a_long_clause_is_cut_at_its_last_whitespace() -> None:
    text = "word " * 20  # 100 characters, no sentence end
    got = units(text, [], max_unit=40)
    assert [unit for unit, _ in got] == ["word " * 8, "word " * 8, "word " * 4]
