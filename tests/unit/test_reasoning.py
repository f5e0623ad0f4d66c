"""The reasoning parser finds the thinking block in every shape, however the text is chunked."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.reasoning import Piece, ReasoningParser


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
