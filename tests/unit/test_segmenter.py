"""The segmenter cuts the same steps whatever the chunking."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.engine.segmenter import Segmenter

TEXT = st.text(alphabet=st.sampled_from(list("ab \n\n\né☕🙂.")), max_size=300)


def segment(text: str, cuts: list[int], *, delimiter: str = "\n\n", max_chars: int = 40,
            lead: str = "") -> list[str]:
    segmenter = Segmenter(delimiter, max_chars)
    if lead:
        segmenter.lead(lead)
    steps: list[str] = []
    start = 0
    for cut in sorted(set(cuts)):
        steps += segmenter.feed(text[start:cut])
        start = cut
    steps += segmenter.feed(text[start:])
    rest = segmenter.flush()
    return [*steps, rest] if rest else steps


@st.composite
def text_and_cuts(draw: st.DrawFn) -> tuple[str, list[int]]:
    text = draw(TEXT)
    cuts = draw(st.lists(st.integers(0, len(text)), max_size=40))
    return text, cuts


@settings(max_examples=400)
@given(text_and_cuts(), st.integers(3, 60), st.sampled_from(["\n\n", "\n", "||", "\n---\n"]))
def test_same_steps_whatever_the_chunking(case: tuple[str, list[int]], max_chars: int,
                                          delimiter: str) -> None:
    text, cuts = case
    whole = segment(text, [], delimiter=delimiter, max_chars=max_chars)
    assert segment(text, cuts, delimiter=delimiter, max_chars=max_chars) == whole
    # one character at a time, the worst chunking of all
    assert segment(text, list(range(len(text))), delimiter=delimiter,
                   max_chars=max_chars) == whole


@settings(max_examples=300)
@given(text_and_cuts(), st.integers(3, 60))
def test_steps_rebuild_the_text_and_respect_the_limit(case: tuple[str, list[int]],
                                                      max_chars: int) -> None:
    text, cuts = case
    steps = segment(text, cuts, max_chars=max_chars)
    assert "".join(steps) == text
    for step in steps[:-1]:
        # a step ends at a delimiter, or is cut by length (a delimiter may close it one
        # character past the limit, never later)
        assert step.endswith("\n\n") or len(step) <= max_chars
        assert len(step) <= max_chars + 1
        # no step is only whitespace, but for a run of blanks longer than the limit
        assert step.strip() or len(step) == max_chars


def test_blank_line_delimits_steps() -> None:
    text = "First, the user asks.\n\nSecond, I think.\n\nThird"
    assert segment(text, [3, 22, 23]) == ["First, the user asks.\n\n", "Second, I think.\n\n",
                                          "Third"]


def test_delimiter_split_across_chunks() -> None:
    segmenter = Segmenter("\n\n", 100)
    assert segmenter.feed("one\n") == []
    assert segmenter.feed("\ntwo") == ["one\n\n"]
    assert segmenter.pending == "two"


def test_leading_blank_lines_join_the_next_step() -> None:
    assert segment("\n\n\n\nstep\n\n", []) == ["\n\n\n\nstep\n\n"]


def test_length_cut_prefers_whitespace() -> None:
    steps = segment("aaaa bbbb cccc dddd eeee", [], max_chars=12)
    assert steps[0] == "aaaa bbbb "
    assert "".join(steps) == "aaaa bbbb cccc dddd eeee"


def test_a_steering_prefix_alone_is_not_a_step() -> None:
    prefix = "Wait, think safely."
    steps = segment("\n\nI will answer safely.\n\nNext.", [1, 5], lead=prefix, max_chars=200)
    assert steps[0] == prefix + "\n\nI will answer safely.\n\n"
    assert steps[1:] == ["Next."]


@given(text_and_cuts())
def test_lead_is_chunking_independent(case: tuple[str, list[int]]) -> None:
    text, cuts = case
    assert segment(text, cuts, lead="Wait.") == segment(text, [], lead="Wait.")
