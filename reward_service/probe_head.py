"""The probe's logistic-regression heads over sentence embeddings: file format and features.

The head file is small JSON (committed at reward_service/data/probe_head.json) so that a diff
shows when it changed and loading it runs no code. Label convention: P(safe) = sigmoid(w.x + b).
Two heads, as the API has two modes: `request` sees the request's embedding only; `trace` sees the
request and the newest part of the trace, so it can learn compliance versus refusal on a topic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from reward_service.exceptions import ModelLoadError

FeatureKind = Literal["prompt", "trace", "prompt+trace", "prompt+trace+product"]
FEATURE_KINDS: tuple[FeatureKind, ...] = ("prompt", "trace", "prompt+trace", "prompt+trace+product")
FloatArray = npt.NDArray[np.float32]


def default_head_path() -> Path:
    return Path(str(resources.files("reward_service") / "data" / "probe_head.json"))


def features(kind: FeatureKind, prompt_emb: FloatArray, trace_emb: FloatArray) -> FloatArray:
    """Rows of features for a head, from row-aligned prompt and trace embeddings."""
    if kind == "prompt":
        return prompt_emb
    if kind == "trace":
        return trace_emb
    if kind == "prompt+trace":
        return np.concatenate([prompt_emb, trace_emb], axis=1)
    return np.concatenate([prompt_emb, trace_emb, prompt_emb * trace_emb], axis=1)


@dataclass(frozen=True)
class LinearHead:
    kind: FeatureKind
    coef: FloatArray
    intercept: float

    def logits(self, prompt_emb: FloatArray, trace_emb: FloatArray) -> FloatArray:
        x = features(self.kind, prompt_emb, trace_emb)
        return np.asarray(x @ self.coef + self.intercept, dtype=np.float32)

    def to_json(self) -> dict[str, Any]:
        return {"features": self.kind, "coef": [round(float(c), 6) for c in self.coef],
                "intercept": round(self.intercept, 6)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinearHead:
        kind = data["features"]
        if kind not in FEATURE_KINDS:
            raise ValueError(f"unknown feature kind {kind!r}")
        return cls(kind, np.asarray(data["coef"], dtype=np.float32), float(data["intercept"]))


@dataclass(frozen=True)
class ProbeHead:
    request: LinearHead
    trace: LinearHead
    max_tokens: int
    meta: dict[str, Any]

    def save(self, path: Path) -> None:
        data = {"format": 1, "max_tokens": self.max_tokens, "meta": self.meta,
                "heads": {"request": self.request.to_json(), "trace": self.trace.to_json()}}
        path.write_text(json.dumps(data, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> ProbeHead:
        try:
            data = json.loads(path.read_text())
            return cls(LinearHead.from_json(data["heads"]["request"]),
                       LinearHead.from_json(data["heads"]["trace"]),
                       int(data.get("max_tokens", 256)), dict(data.get("meta", {})))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelLoadError(f"cannot load probe head {path}: {exc}") from exc
