"""The reasoning parser finds the thinking block in every shape, however the text is chunked."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.engine.reasoning import Piece, ReasoningParser
from tests.unit.work import counted


def run(chunks: list[str], state: str = "start") -> tuple[str, str, int, str | None]:
    parser = ReasoningParser("<think>", "</think>", state)
    pieces: list[Piece] = []
    for chunk in chunks:
        pieces += parser.content(chunk)
    pieces += parser.finish()
    reasoning = "".join(p.text for p in pieces if p.kind == "reasoning")
    content = "".join(p.text for p in pieces if p.kind == "content")
    ends = sum(p.kind == "think_end" for p in pieces)
    return reasoning, content, ends, parser.shape


def split(text: str, cuts: list[int]) -> list[str]:
    bounds = [0, *sorted(set(cuts)), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@st.composite
def chunked(draw: st.DrawFn, text: str) -> list[str]:
    return split(text, draw(st.lists(st.integers(0, len(text)), max_size=30)))


INLINE = "\n<think>\nStep one.\n\nStep two é☕.\n\n</think>\n\nThe answer <b>is</b> 42."


@settings(max_examples=300)
@given(st.data())
def test_inline_tags_split_anywhere(data: st.DataObject) -> None:
    chunks = data.draw(chunked(INLINE))
    assert run(chunks) == ("\nStep one.\n\nStep two é☕.\n\n", "\n\nThe answer <b>is</b> 42.", 1,
                           "inline")


@given(st.data())
def test_no_thinking_block_is_content(data: st.DataObject) -> None:
    text = "  <thin air is not a tag, the answer is 42."
    assert run(data.draw(chunked(text))) == ("", text, 0, "content")


@given(st.data())
def test_continuation_starts_inside_the_block(data: st.DataObject) -> None:
    text = " I will stay safe.\n\n</think>Answer."
    assert run(data.draw(chunked(text)), state="think") == (" I will stay safe.\n\n", "Answer.",
                                                            1, None)


def test_reasoning_fields_then_content() -> None:
    parser = ReasoningParser()
    pieces = parser.reasoning_field("reasoning_content", "Step one.")
    pieces += parser.content("Answer")
    assert [(p.kind, p.text) for p in pieces] == [
        ("reasoning", "Step one."), ("think_end", ""), ("content", "Answer")
    ]
    assert parser.shape == "reasoning_content"


def test_continuation_whose_server_parser_moved_on_to_the_answer() -> None:
    # vLLM with a reasoning parser: continued reasoning in the field, then the answer in content
    parser = ReasoningParser(state="think")
    pieces = parser.reasoning_field("reasoning", "safe step\n\n")
    pieces += parser.content("Answer")
    assert [p.kind for p in pieces] == ["reasoning", "think_end", "content"]
    assert parser.shape == "reasoning"


def test_unclosed_block_at_end_is_reasoning() -> None:
    assert run(["<think>still thinking</thi"]) == ("still thinking</thi", "", 0, "inline")


# -- whitespace before any visible text ------------------------------------------------------

def run_lead(chunks: list[str], max_lead: int) -> tuple[str, str, int, str | None]:
    parser = ReasoningParser("<think>", "</think>", max_lead=max_lead)
    pieces: list[Piece] = []
    for chunk in chunks:
        pieces += parser.content(chunk)
    pieces += parser.finish()
    reasoning = "".join(p.text for p in pieces if p.kind == "reasoning")
    content = "".join(p.text for p in pieces if p.kind == "content")
    return reasoning, content, sum(p.kind == "think_end" for p in pieces), parser.shape


@settings(max_examples=300)
@given(st.data(), st.integers(0, 12), st.sampled_from([" ", "\n", " \t\n"]),
       st.sampled_from(["<think>Step.\n\n</think>Answer", "Answer", "<thi", "<think>", ""]))
def test_a_long_blank_lead_is_content_however_chunked(data: st.DataObject, extra: int,
                                                      blank: str, rest: str) -> None:
    max_lead = 8
    lead = (blank * 12)[: max_lead - 4 + extra]
    text = lead + rest
    got = run_lead(data.draw(chunked(text)), max_lead)
    assert got == run_lead([text], max_lead)  # chunking never changes the outcome
    if len(lead) > max_lead:
        assert got == ("", text, 0, "content")
    elif rest.startswith("<think>"):
        assert got[3] == "inline" and got[0] == rest[7:].split("</think>")[0]


def test_whitespace_is_released_once_the_lead_is_too_long() -> None:
    # 5 MB of spaces took 28 s and were all held until the end of the stream
    parser = ReasoningParser()
    released = [parser.content(" ") for _ in range(5000)]
    assert [p.text for p in released[parser.max_lead]] == [" " * (parser.max_lead + 1)]
    assert all(pieces == [Piece("content", " ")] for pieces in released[parser.max_lead + 1 :])
    assert parser.shape == "content"


def test_work_is_linear_in_a_blank_lead() -> None:
    parser = ReasoningParser()
    n = 100_000
    with counted() as work:
        for _ in range(n // 4):
            parser.content("  \n ")
    assert work.scanned <= 2 * n  # re-stripping what is held on each chunk: ~10**9
