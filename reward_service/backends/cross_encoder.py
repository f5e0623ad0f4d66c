"""The default backend: the project's cross-encoder (MiniLM with a trained delta, `pairmodel`).

Reads what `reward_service.windows` says: an empty trace scores the request as its least safe
window; a trace is scored paired with the request's core (that least safe window), keeping the
trace's newest tokens. The proxy scores one request after every step, so each request's windows
are scored once and kept (`prompt_cache_size` requests, least recently used out first).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from reward_service.backends.base import ModelBackend, PreparedItem, clamp_score
from reward_service.backends.embedder import packaged_minilm
from reward_service.backends.torch_utils import (
    configure_threads,
    micro_batches,
    resolve_device,
    resolve_dtype,
)
from reward_service.pairmodel import (
    PairClassifier,
    PairConfig,
    batch_tensors,
    calibrated,
    default_weights_dir,
    load_pair_model,
)
from reward_service.schemas import ScoreResult
from reward_service.settings import RewardSettings
from reward_service.windows import Ids, pair, paragraphs, request_windows

Row = tuple[Ids, Ids | None]


@dataclass(frozen=True, slots=True)
class RequestRead:
    """A request as the model read it: its least safe window's logit and ids."""

    logit: float
    core: Ids
    windows: int
    cut: bool


class CrossEncoderBackend(ModelBackend):
    name = "cross-encoder"

    def __init__(self, settings: RewardSettings) -> None:
        super().__init__()
        self.settings = settings
        self._model: PairClassifier | None = None
        self._config = PairConfig()
        self._tokenizer: Any = None
        self._device = torch.device("cpu")
        self._requests: OrderedDict[str, RequestRead] = OrderedDict()

    def load(self) -> None:
        base = self.settings.model_path() or packaged_minilm()
        weights = Path(self.settings.cross_encoder_weights or default_weights_dir())
        self._device = resolve_device(self.settings)
        configure_threads(self.settings, self._device)
        dtype = resolve_dtype(self.settings, self._device)
        self._model, self._config, self._tokenizer = load_pair_model(base, weights, self._device,
                                                                     dtype)
        self.model_name = f"all-MiniLM-L6-v2+{weights.name}"

    @property
    def config(self) -> PairConfig:
        return self._config

    def forward(self, items: list[PreparedItem]) -> list[ScoreResult]:
        reads = self._read_requests([item.prompt for item in items])
        traced = [k for k, item in enumerate(items) if item.trace]
        trace_ids = self._ids([items[k].trace for k in traced])
        rows: list[Row] = []
        trace_cut: dict[int, bool] = {}
        for k, ids in zip(traced, trace_ids, strict=True):
            core, kept, cut = pair(reads[k].core, ids, self._config.windows)
            rows.append((core, kept))
            trace_cut[k] = cut
        trace_logits = dict(zip(traced, self.logits(rows), strict=True))
        out = []
        for k, item in enumerate(items):
            read = reads[k]
            mode = "trace" if item.trace else "request"
            logit = trace_logits[k] if item.trace else read.logit
            cut = item.truncated or read.cut or trace_cut.get(k, False)
            out.append(self._result(logit, mode, read.windows, cut))
        return out

    def _result(self, logit: float, mode: str, windows: int, cut: bool) -> ScoreResult:
        threshold = self._config.threshold[mode]
        score = clamp_score(calibrated(logit, threshold))
        p_safe = (score + 1.0) / 2.0
        return ScoreResult(score=score, truncated=cut,
                           raw={"p_safe": p_safe, "p_unsafe": 1.0 - p_safe, "logit": logit,
                                "threshold": threshold, "windows": float(windows)})

    def _read_requests(self, prompts: list[str]) -> list[RequestRead]:
        missing = sorted({p for p in prompts if p not in self._requests})
        if missing:
            spec = self._config.windows
            windowed = [request_windows(ids, spec) for ids in self._ids(missing)]
            # Paragraphs that fit one window are read alone too; longer ones only in windows.
            alone = [[ids for ids in self._ids(paragraphs(p, spec)) if len(ids) <= spec.size]
                     for p in missing]
            units = [windows + extra for (windows, _), extra in zip(windowed, alone, strict=True)]
            logits = iter(self.logits([(u, None) for group in units for u in group]))
            for prompt, group, (windows, cut) in zip(missing, units, windowed, strict=True):
                scored = [(next(logits), u) for u in group]
                worst = min(range(len(scored)), key=lambda i: scored[i][0])
                self._requests[prompt] = RequestRead(scored[worst][0], scored[worst][1],
                                                     len(windows), cut)
        reads = []
        for prompt in prompts:
            self._requests.move_to_end(prompt)
            reads.append(self._requests[prompt])
        while len(self._requests) > max(self.settings.prompt_cache_size, len(set(prompts))):
            self._requests.popitem(last=False)
        return reads

    def _ids(self, texts: list[str]) -> list[Ids]:
        if not texts:
            return []
        # verbose=False: long texts are expected; windows and pairs cut them, reported.
        out: list[Ids] = self._tokenizer(texts, add_special_tokens=False,
                                         verbose=False)["input_ids"]
        return out

    @torch.inference_mode()
    def logits(self, rows: list[Row]) -> list[float]:
        """One logit per row, in padding-aware micro-batches (benchmarks call this directly)."""
        model = self._require()
        tok = self._tokenizer
        lengths = [len(a) + len(b or ()) + 3 for a, b in rows]
        out = [0.0] * len(rows)
        for group in micro_batches(lengths, self.settings.max_batch_tokens):
            ids, mask, types = batch_tensors([rows[i] for i in group], tok.cls_token_id,
                                             tok.sep_token_id, tok.pad_token_id or 0,
                                             self._device)
            for i, z in zip(group, model(ids, mask, types).tolist(), strict=True):
                out[i] = float(z)
        return out

    def _require(self) -> PairClassifier:
        if self._model is None:
            raise RuntimeError("cross-encoder backend used before load()")
        return self._model

    def close(self) -> None:
        self._model = None
        self._requests.clear()
