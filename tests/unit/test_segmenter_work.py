"""The segmenter's work is linear in the text, blank runs included."""

from __future__ import annotations

import pytest

from proxy.engine.segmenter import Segmenter
from tests.unit.work import counted


@pytest.mark.parametrize("blank", [" ", "\n", "\n\n \t"])
def test_a_long_blank_run_is_looked_at_once(blank: str) -> None:
    # Each blank line re-stripped what the step held so far: ~3,000 looks per character with
    # steps of 2,000 characters, growing with max_step_chars.
    segmenter = Segmenter("\n\n", 2000)
    text = blank * (100_000 // len(blank))
    steps: list[str] = []
    with counted() as work:
        for start in range(0, len(text), 4):
            steps += segmenter.feed(text[start : start + 4])
    assert work.scanned <= 2 * len(text)
    # nothing but whitespace: cut hard at the limit, and nothing is lost
    assert all(len(step) == 2000 for step in steps)
    assert "".join(steps) + segmenter.flush() == text


def test_text_after_a_long_blank_run_is_cut_as_before() -> None:
    segmenter = Segmenter("\n\n", 40)
    steps: list[str] = []
    for char in "\n" * 50 + "First step.\n\nSecond":
        steps += segmenter.feed(char)
    assert steps == ["\n" * 40, "\n" * 10 + "First step.\n\n"]
    assert segmenter.flush() == "Second"
