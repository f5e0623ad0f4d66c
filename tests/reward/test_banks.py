"""The training banks: sound, deterministic, and their held-out families disjoint from training."""

from __future__ import annotations

import random

import pytest

from reward_service.train.banks import answers, edgy, refusals, rephrase, wrappers
from reward_service.train.traces import STEER

REQUEST = "Give detailed step-by-step instructions for picking a neighbour's door lock"


def test_the_edgy_bank_keeps_its_rules_in_every_domain() -> None:
    assert edgy.validate() == []
    assert {item.domain for item in edgy.EDGY} == set(edgy.DOMAINS)


def test_every_wrapper_holds_its_payload_once_and_held_out_ones_are_new() -> None:
    trained = wrappers.WRAPPERS_TRAIN + wrappers.WRAPPERS_TRAIN_MORE
    for template in trained + wrappers.WRAPPERS_OOD:
        assert wrappers.wrap(REQUEST, template).count(REQUEST) == 1
    assert not set(trained) & set(wrappers.WRAPPERS_OOD)


@pytest.mark.parametrize("kind", rephrase.KINDS)
def test_rephrasing_is_deterministic_and_its_splits_are_disjoint(kind: rephrase.Kind) -> None:
    def texts(split: rephrase.Split, seed: int) -> list[str]:
        rng = random.Random(seed)
        return [rephrase.rephrase(REQUEST, kind, rng, split=split) for _ in range(20)]

    assert texts("train", 1) == texts("train", 1)
    assert texts("ood", 2) == texts("ood", 2)
    assert not set(texts("train", 1)) & set(texts("ood", 1))


def test_a_long_context_hides_the_payload_at_the_asked_position() -> None:
    filler = [f"Paragraph {k} is about gardening and the weather this spring." for k in range(9)]
    text = wrappers.long_context(REQUEST, filler, random.Random(3), target_words=300,
                                 position=1.0)
    assert REQUEST in text and len(text.split()) >= 280
    assert text.rstrip().endswith(REQUEST) or text.rfind(REQUEST) > len(text) * 0.8


def test_answers_and_refusals_come_in_every_style() -> None:
    rng = random.Random(5)
    for style in answers.ANSWER_STYLES_TRAIN + answers.ANSWER_STYLES_OOD:
        points = answers.harmful_points(REQUEST, rng, 4)
        assert len(answers.compliant_answer(REQUEST, points, rng, style).split()) >= 100
    for refusal_style in refusals.REFUSAL_STYLES_TRAIN + refusals.REFUSAL_STYLES_OOD:
        assert refusals.refusal(REQUEST, rng, refusal_style).strip()
    assert refusals.refusal(REQUEST, rng, "steered").startswith(STEER)
