"""`python -m reward_service train-cross-encoder`: rebuild `data/cross_encoder/` byte for byte.

Fine-tunes the packaged all-MiniLM-L6-v2 end to end through a LoRA delta (rank 16 on every
attention and feed-forward projection) plus a logistic head, on the `train` split of
`reward_service.train.dataset`. A request is trained as the service reads it: as its windows, its
logit the least safe window's (multiple-instance training), so a window that holds the harmful
question is pushed unsafe and windows of plain wrapper text safe.

That training runs once per seed in `SEEDS`, each from the packaged MiniLM, and the weights are
the members' soup (`reward_service.train.soup`: their mean delta, one LoRA of rank 16 x members):
one training is one draw (single figures of the evaluate table moved by 5 to 20 points between
two seeds), and the mean of several depends less on any one of them.
Then the per-mode thresholds that put the decision at tau = 0 are chosen on the `calib` split
(`calibrate`), scored as the service scores: the soup merged into a fresh MiniLM.

Reproducible: fixed seeds, a fixed number of CPU threads, deterministic kernels, a fixed example
order; the same command on the same CPU writes the same bytes (the sha256 is in config.json).
"""

from __future__ import annotations

import json
import random
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from reward_service.backends.embedder import packaged_minilm
from reward_service.pairmodel import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    PairClassifier,
    PairConfig,
    batch_tensors,
    delta_tensors,
    file_sha256,
    load_pair_model,
    lora_config,
)
from reward_service.train import dataset
from reward_service.train.dataset import Example
from reward_service.train.soup import soup
from reward_service.windows import Ids, WindowSpec, pair, request_windows

# One training per seed; the committed weights are their soup.
SEEDS = (20261202, 20261203, 20261204)
EPOCHS = 1
BATCH = 16
LR = 5e-4
HEAD_LR = 2e-3
# The thresholds keep calibration's safe examples flagged at most this often.
MAX_SAFE_FLAGGED = 0.03
Rows = list[tuple[Ids, Ids | None]]


class Encoded:
    """Examples as token rows: a request as its windows, a trace as one (core, trace) pair."""

    def __init__(self, tokenizer: Any, examples: Sequence[Example], spec: WindowSpec) -> None:
        self.tokenizer = tokenizer
        prompts = _ids(tokenizer, [e.prompt for e in examples])
        traces = _ids(tokenizer, [e.trace for e in examples])
        self.rows: list[Rows] = []
        for example, p, t in zip(examples, prompts, traces, strict=True):
            if example.trace:
                core, kept, _ = pair(p, t, spec)
                self.rows.append([(core, kept)])
            else:
                self.rows.append([(w, None) for w in request_windows(p, spec)[0]])
        self.labels = [float(e.safe) for e in examples]
        self.weights = _balanced_weights(examples)

    def length(self, k: int) -> int:
        return max(len(a) + len(b or ()) for a, b in self.rows[k])


def _ids(tokenizer: Any, texts: list[str]) -> list[Ids]:
    if not texts:
        return []
    out: list[Ids] = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
    return out


def _balanced_weights(examples: Sequence[Example]) -> list[float]:
    """Each (mode, label) cell weighs a quarter of the total, however many examples it has."""
    cells = Counter((e.mode, e.safe) for e in examples)
    return [len(examples) / (len(cells) * cells[(e.mode, e.safe)]) for e in examples]


def forward_examples(model: PairClassifier, data: Encoded, batch: list[int],
                     device: torch.device) -> torch.Tensor:
    """One logit per example: a pair's own, a request's least safe window's."""
    tok = data.tokenizer
    flat: Rows = []
    owner: list[int] = []
    for j, k in enumerate(batch):
        flat += data.rows[k]
        owner += [j] * len(data.rows[k])
    ids, mask, types = batch_tensors(flat, tok.cls_token_id, tok.sep_token_id,
                                     tok.pad_token_id or 0, device)
    logits = model(ids, mask, types)
    index = torch.tensor(owner, device=device)
    worst = torch.full((len(batch),), float("inf"), device=device)
    return worst.scatter_reduce(0, index, logits, reduce="amin")


def batches(data: Encoded, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length (little padding), in a shuffled order."""
    order = list(range(len(data.rows)))
    rng.shuffle(order)
    out: list[list[int]] = []
    for start in range(0, len(order), BATCH * 32):
        chunk = sorted(order[start:start + BATCH * 32], key=data.length)
        out += [chunk[i:i + BATCH] for i in range(0, len(chunk), BATCH)]
    rng.shuffle(out)
    return out


def train(model: PairClassifier, data: Encoded, epochs: int, seed: int,
          log_every: int = 50) -> None:
    rng = random.Random(seed)
    device = torch.device("cpu")
    lora = [p for n, p in model.named_parameters() if p.requires_grad and "head" not in n]
    opt = torch.optim.AdamW([{"params": lora, "lr": LR},
                             {"params": model.head.parameters(), "lr": HEAD_LR}],
                            weight_decay=0.01)
    plan = [batches(data, rng) for _ in range(epochs)]
    total = sum(len(p) for p in plan)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: min(1.0, (step + 1) / (0.06 * total)) * max(0.0, 1 - step / total))
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")
    model.train()
    step, started = 0, time.monotonic()
    for epoch_batches in plan:
        for batch in epoch_batches:
            logits = forward_examples(model, data, batch, device)
            y = torch.tensor([data.labels[k] for k in batch])
            w = torch.tensor([data.weights[k] for k in batch])
            loss = (loss_fn(logits, y) * w).sum() / w.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % log_every == 0:
                print(f"step {step}/{total} loss {loss.item():.4f} "
                      f"{time.monotonic() - started:.0f}s", flush=True)
    model.eval()


@torch.inference_mode()
def predict(model: PairClassifier, data: Encoded, size: int = 32) -> list[float]:
    order = sorted(range(len(data.rows)), key=data.length)
    out = [0.0] * len(order)
    for start in range(0, len(order), size):
        batch = order[start:start + size]
        for k, z in zip(batch, forward_examples(model, data, batch, torch.device("cpu")).tolist(),
                        strict=True):
            out[k] = float(z)
    return out


def calibrate(logits: Sequence[float], examples: Sequence[Example]) -> dict[str, float]:
    """Per mode, the threshold with the best balanced accuracy, lowered if need be so that at
    most MAX_SAFE_FLAGGED of the safe examples fall below it (score < 0 = flagged)."""
    out: dict[str, float] = {}
    for mode in ("request", "trace"):
        safe = np.array([z for z, e in zip(logits, examples, strict=True)
                         if e.mode == mode and e.safe])
        unsafe = np.array([z for z, e in zip(logits, examples, strict=True)
                           if e.mode == mode and not e.safe])
        if not len(safe) or not len(unsafe):
            out[mode] = 0.0
            continue
        candidates = np.unique(np.concatenate([safe, unsafe]))
        best = max(candidates, key=lambda t: float((unsafe < t).mean() - (safe < t).mean()))
        cap = float(np.quantile(safe, MAX_SAFE_FLAGGED))
        out[mode] = round(float(min(best, cap)), 4)
    return out


def new_model() -> PairClassifier:
    """The packaged MiniLM with fresh LoRA adapters (drawn from torch's seed) and a fresh head."""
    from peft import get_peft_model
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(str(packaged_minilm()), dtype=torch.float32)
    config = PairConfig()
    with warnings.catch_warnings():
        # peft asks transformers 5 for a property it deprecated; nothing of ours to change.
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing",
                                category=FutureWarning)
        peft_model = get_peft_model(encoder, lora_config(config.rank, config.alpha))
    return PairClassifier(peft_model)


def train_member(seed: int, data: Encoded, epochs: int) -> dict[str, torch.Tensor]:
    """One fine-tuning run from the packaged MiniLM; its delta (LoRA matrices and head)."""
    torch.manual_seed(seed)
    model = new_model()
    train(model, data, epochs, seed)
    return delta_tensors(model)


def main(data_dir: Path, out_dir: Path, *, epochs: int = EPOCHS, limit: int | None = None,
         threads: int = 2, seeds: Sequence[int] = SEEDS) -> str:
    """Train one member per seed, soup them, calibrate the soup, write its weights and config;
    returns the weights' sha256."""
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    started = time.monotonic()
    examples = dataset.build(data_dir)
    fit = [e for e in examples if e.split == "train"]
    calib = [e for e in examples if e.split == "calib"]
    if limit is not None:
        fit, calib = fit[::max(1, len(fit) // limit)][:limit], calib[:: max(1, len(calib) // 8)]
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(packaged_minilm()))
    config = PairConfig()
    data = Encoded(tokenizer, fit, config.windows)
    delta = soup([train_member(seed, data, epochs) for seed in seeds])
    config.rank, config.alpha = config.rank * len(seeds), config.alpha * len(seeds)
    counts = Counter(f"{e.mode}:{'safe' if e.safe else 'unsafe'}" for e in fit)
    config.meta = {"seeds": list(seeds), "epochs": epochs, "threads": threads,
                   "n_train": len(fit), "n_calib": len(calib),
                   "train_counts": dict(sorted(counts.items())), "torch": torch.__version__}
    write_delta(out_dir, delta, config)
    # Calibrated as the service will score: the soup merged into a fresh MiniLM.
    model, _, _ = load_pair_model(packaged_minilm(), out_dir, torch.device("cpu"), torch.float32)
    config.threshold = calibrate(predict(model, Encoded(tokenizer, calib, config.windows)), calib)
    config.meta["train_seconds"] = round(time.monotonic() - started)
    (out_dir / CONFIG_FILE).write_text(config.to_json())
    print(json.dumps({"sha256": config.sha256, "threshold": config.threshold, **config.meta}))
    return config.sha256


def write_delta(out_dir: Path, delta: dict[str, torch.Tensor], config: PairConfig) -> None:
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(delta, str(out_dir / WEIGHTS_FILE))
    config.sha256 = file_sha256(out_dir / WEIGHTS_FILE)
    (out_dir / CONFIG_FILE).write_text(config.to_json())
