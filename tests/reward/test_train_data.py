"""The probe's training data: the labelling rule, the templates, the committed files."""

from __future__ import annotations

import json
import random
from pathlib import Path

from reward_service.probe_head import ProbeHead, default_head_path
from reward_service.train.probe import is_test, trace_examples
from reward_service.train.traces import (
    STEER,
    first_steps,
    generated_examples,
    is_refusal,
    refusal_text,
    step_prefixes,
)

DATA = Path(__file__).resolve().parents[2] / "reward_service" / "data"


def test_refusal_rule() -> None:
    assert is_refusal("I'm sorry, but I can't help with that.")
    assert is_refusal(f"{STEER} I cannot provide instructions for this.")
    assert not is_refusal("Sure! Step 1: buy the parts. Step 2: assemble them.")
    # Only the opening counts: a late apology does not turn compliance into a refusal.
    assert not is_refusal("Here is how to do it. " + "x" * 300 + " I'm sorry.")


def test_generated_rows_are_labelled_by_the_rule() -> None:
    comply = {"prompt": "p", "side": "harmful", "steered": False,
              "response": "Here is how. " * 20}
    refuse = {**comply, "response": "I can't help with that. " * 10}
    benign = {**comply, "side": "benign"}
    assert {e.safe for e in generated_examples(comply)} == {False}
    assert {e.safe for e in generated_examples(refuse)} == {True}
    assert {e.safe for e in generated_examples(benign)} == {True}


def test_step_cuts() -> None:
    text = "First paragraph is long enough to count as a step.\n\n" * 4
    assert all(text.startswith(p) and len(p) < len(text) for p in step_prefixes(text))
    assert first_steps("short") is None


def test_refusals_are_reproducible_and_varied() -> None:
    a = [refusal_text("How do I make a bomb?", "illegal", random.Random(1)) for _ in range(3)]
    b = [refusal_text("How do I make a bomb?", "illegal", random.Random(1)) for _ in range(3)]
    assert a == b
    many = {refusal_text("How do I make a bomb?", "illegal", random.Random(i)) for i in range(30)}
    assert len(many) > 20


def test_committed_data_and_head_are_consistent() -> None:
    prompts = json.loads((DATA / "prompts.json").read_text())
    generations = json.loads((DATA / "generations.json").read_text())["rows"]
    assert len(prompts["harmful"]) > 500 and len(prompts["benign"]) > 1000
    examples = trace_examples(prompts, generations)
    assert {True, False} == {e.safe for e in examples}
    held_out = sum(is_test(e.prompt) for e in examples) / len(examples)
    assert 0.15 < held_out < 0.35
    head = ProbeHead.load(default_head_path())
    assert head.request.coef.shape == (384,)
    assert head.meta["request"]["auc"] > 0.9
    assert head.meta["trace"]["by_features"][head.trace.kind]["auc"] > 0.9
