"""The default backend: MiniLM sentence embeddings plus the project's logistic-regression heads.

Runs anywhere, offline, on CPU. An empty trace goes to the request head; a non-empty trace goes to
the trace head, which sees the request's embedding and the embedding of the trace's newest tokens
(the last step decides whether the trace now complies or refuses).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path

import numpy as np

from reward_service.backends.base import ModelBackend, PreparedItem, clamp_score
from reward_service.backends.embedder import Embedder, packaged_minilm
from reward_service.backends.torch_utils import configure_threads, resolve_device, resolve_dtype
from reward_service.probe_head import FloatArray, ProbeHead, default_head_path
from reward_service.schemas import ScoreResult
from reward_service.settings import RewardSettings


class ProbeBackend(ModelBackend):
    name = "probe"

    def __init__(self, settings: RewardSettings) -> None:
        super().__init__()
        self.settings = settings
        self._embedder: Embedder | None = None
        self._head: ProbeHead | None = None
        # The proxy scores one request after every step: its embedding is worth keeping.
        self._prompt_cache: OrderedDict[str, tuple[FloatArray, bool]] = OrderedDict()

    def load(self) -> None:
        path = self.settings.model_path() or packaged_minilm()
        head_path = Path(self.settings.probe_head) if self.settings.probe_head else None
        self._head = ProbeHead.load(head_path or default_head_path())
        device = resolve_device(self.settings)
        configure_threads(self.settings, device)
        # bf16 on a CPU with native bf16 (3x the float32 throughput there): the held-out figures
        # stay the same (README, "Figures"); --dtype float32 gives the float32 scores.
        dtype = resolve_dtype(self.settings, device, cpu_bf16=True)
        self._embedder = Embedder(path, device, dtype, self._head.max_tokens,
                                  self.settings.max_batch_tokens)
        name = path.name if self.settings.model_path() else "all-MiniLM-L6-v2"
        self.model_name = f"{name}+probe-head"

    def forward(self, items: list[PreparedItem]) -> list[ScoreResult]:
        embedder, head = self._require()
        prompts, prompt_cut = self._prompt_embeddings(embedder, [i.prompt for i in items])
        traced = [k for k, item in enumerate(items) if item.trace]
        traces = np.zeros_like(prompts)
        trace_cut = [False] * len(items)
        if traced:
            emb, cut = embedder.encode([items[k].trace for k in traced], keep="tail")
            traces[traced] = emb
            for k, was_cut in zip(traced, cut, strict=True):
                trace_cut[k] = was_cut
        logits = np.where([bool(i.trace) for i in items],
                          head.trace.logits(prompts, traces), head.request.logits(prompts, traces))
        return [_result(float(z), item, prompt_cut[k] or trace_cut[k])
                for k, (z, item) in enumerate(zip(logits, items, strict=True))]

    def _prompt_embeddings(self, embedder: Embedder,
                           texts: list[str]) -> tuple[FloatArray, list[bool]]:
        missing = sorted({t for t in texts if t not in self._prompt_cache})
        if missing:
            emb, cut = embedder.encode(missing, keep="head")
            for text, row, was_cut in zip(missing, emb, cut, strict=True):
                self._prompt_cache[text] = (row, was_cut)
        rows = []
        for text in texts:
            self._prompt_cache.move_to_end(text)
            rows.append(self._prompt_cache[text])
        while len(self._prompt_cache) > self.settings.prompt_cache_size:
            self._prompt_cache.popitem(last=False)
        return np.stack([r[0] for r in rows]), [r[1] for r in rows]

    @property
    def embedder(self) -> Embedder:
        """The loaded sentence embedder (benchmarks reach the forward pass through it)."""
        return self._require()[0]

    def _require(self) -> tuple[Embedder, ProbeHead]:
        if self._embedder is None or self._head is None:
            raise RuntimeError("probe backend used before load()")
        return self._embedder, self._head

    def close(self) -> None:
        self._embedder = None
        self._prompt_cache.clear()


def _result(logit: float, item: PreparedItem, token_cut: bool) -> ScoreResult:
    p_safe = 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, logit))))
    return ScoreResult(score=clamp_score(2.0 * p_safe - 1.0),
                       raw={"p_safe": p_safe, "p_unsafe": 1.0 - p_safe, "logit": logit},
                       truncated=item.truncated or token_cut)
