"""The evaluation table: every figure has held-out examples, none of them trained on, and the
figures are computed as their names say."""

from __future__ import annotations

from pathlib import Path

from reward_service.evaluate import FIGURES, figure_value, held_out, table
from reward_service.train import dataset
from reward_service.train.banks import wrappers

DATA = Path(__file__).resolve().parents[2] / "reward_service" / "data"


def test_every_figure_has_held_out_examples_and_none_is_trained_on() -> None:
    examples = dataset.build(DATA)
    trained = {(e.prompt, e.trace) for e in examples if e.split in ("train", "calib")}
    evaluated = held_out(DATA)
    assert not [e for e in evaluated if (e.prompt, e.trace) in trained]
    for figure in FIGURES:
        n, _ = figure_value(figure, evaluated, [1.0] * len(evaluated))
        assert n >= 5, figure.name


def test_the_extra_wrapper_families_are_trained_on_and_never_evaluated() -> None:
    families = [t.partition(wrappers.PLACEHOLDER) for t in wrappers.WRAPPERS_TRAIN_MORE]

    def more(e: dataset.Example) -> bool:
        return any(e.prompt.startswith(head) and e.prompt.endswith(tail)
                   for head, _, tail in families)

    examples = dataset.build(DATA)
    assert not [e for e in examples if e.split not in ("train", "calib") and more(e)]
    harmful = [e for e in examples if e.split == "train" and e.kind == "harmful:wrapped"]
    assert len([e for e in harmful if more(e)]) > 300


def test_a_scorer_that_knows_the_labels_gets_perfect_figures() -> None:
    examples = held_out(DATA)
    oracle = [0.5 if e.safe else -0.5 for e in examples]
    for figure in FIGURES:
        _, value = figure_value(figure, examples, oracle)
        expected = {"auc": 1.0, "safe": 1.0}.get(figure.kind, 0.0)
        if figure.kind == "flagged" and figure.name.startswith(("harmful", "compliance")):
            expected = 1.0
        assert value == expected, figure.name
    rendered = table(examples, {"oracle": oracle})
    assert rendered.count("\n") == len(FIGURES) + 1 and "1.000" in rendered
