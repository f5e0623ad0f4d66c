"""The default backend: the project's cross-encoder (MiniLM with a trained delta, `pairmodel`).

Reads what `reward_service.windows` says: an empty trace scores the request as its least safe
unit (window or short paragraph); a trace is scored paired with the request's core (that least
safe unit), keeping the trace's newest tokens. The proxy scores one request after every step, so
each request is read once and kept (`prompt_cache_size` requests, least recently used out
first).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import torch

from reward_service.backends.base import ModelBackend, PreparedItem, clamp_score
from reward_service.backends.embedder import packaged_minilm
from reward_service.backends.onnx_int8 import Int8Model, has_int8_dot
from reward_service.backends.torch_utils import (
    configure_threads,
    cpu_threads,
    micro_batches,
    resolve_device,
    resolve_dtype,
)
from reward_service.exceptions import ConfigError
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
from reward_service.windows import Ids, pair, paragraphs, request_units, request_windows

Row = tuple[Ids, Ids | None]
Run = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], list[float]]
Runtime = Literal["torch", "onnx-int8"]


@dataclass(frozen=True, slots=True)
class RequestRead:
    """A request as the model read it: its least safe unit's logit (None: not scored yet, a
    one-unit request only a trace has used) and ids."""

    logit: float | None
    core: Ids
    windows: int
    cut: bool


class CrossEncoderBackend(ModelBackend):
    name = "cross-encoder"

    def __init__(self, settings: RewardSettings) -> None:
        super().__init__()
        self.settings = settings
        self._run: Run | None = None
        self.runtime: Runtime = "torch"
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
        self.runtime = self._runtime(dtype)
        model, self._config, self._tokenizer = load_pair_model(base, weights, self._device, dtype)
        name = f"all-MiniLM-L6-v2+{weights.name}"
        if self.runtime == "torch":
            self.model_name = f"{name} (torch)"
            self._run = _torch_run(model)
            return
        reduce_range = not has_int8_dot()  # 7-bit weights where 8 would saturate (onnx_int8)
        self.model_name = f"{name} (onnx-int8, {7 if reduce_range else 8}-bit weights)"
        cache = Path(self.settings.cache_dir) if self.settings.cache_dir else None
        int8 = Int8Model.load(model, delta_sha256=self._config.sha256, base=base, cache_dir=cache,
                              threads=cpu_threads(self.settings), reduce_range=reduce_range)
        self._run = int8.logits  # the torch copy goes: the int8 graph is all that scores

    def _runtime(self, dtype: torch.dtype) -> Runtime:
        wanted = self.settings.cross_encoder_runtime
        on_cpu_fp32 = self._device.type == "cpu" and dtype == torch.float32
        if wanted == "onnx-int8" and not on_cpu_fp32:
            raise ConfigError("cross_encoder_runtime=onnx-int8 runs on the CPU from float32 "
                              "weights: set device=cpu and dtype=float32 (or auto), or use torch")
        if wanted == "auto":
            return "onnx-int8" if on_cpu_fp32 else "torch"
        return wanted

    @property
    def config(self) -> PairConfig:
        return self._config

    def forward(self, items: list[PreparedItem]) -> list[ScoreResult]:
        reads = self._read_requests([item.prompt for item in items],
                                    {item.prompt for item in items if not item.trace})
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
            assert logit is not None  # request mode's prompts were scored above
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

    def _read_requests(self, prompts: list[str], scored: set[str]) -> list[RequestRead]:
        """How each prompt was read, cached. A prompt of several units is scored at once, since
        its core is its least safe unit; a prompt of one unit (the usual short request) is its
        own core, and costs a forward pass only when request mode (`scored`) asks for its logit."""
        missing = sorted({p for p in prompts if p not in self._requests})
        pending: dict[str, list[Ids]] = {}  # prompts to score, with the units to score
        for prompt, (units, windows, cut) in zip(missing, self._units(missing), strict=True):
            self._requests[prompt] = RequestRead(None, units[0], windows, cut)
            if len(units) > 1:
                pending[prompt] = units
        for prompt in sorted(scored):
            if self._requests[prompt].logit is None:
                pending.setdefault(prompt, [self._requests[prompt].core])
        logits = iter(self.logits([(u, None) for units in pending.values() for u in units]))
        for prompt, units in pending.items():
            logit, core = min(((next(logits), u) for u in units), key=lambda read: read[0])
            self._requests[prompt] = replace(self._requests[prompt], logit=logit, core=core)
        reads = []
        for prompt in prompts:
            self._requests.move_to_end(prompt)
            reads.append(self._requests[prompt])
        while len(self._requests) > max(self.settings.prompt_cache_size, len(set(prompts))):
            self._requests.popitem(last=False)
        return reads

    def _units(self, prompts: list[str]) -> list[tuple[list[Ids], int, bool]]:
        """Each prompt's units (`windows.request_units`), its window count, whether it was cut."""
        spec = self._config.windows
        out = []
        for prompt, ids in zip(prompts, self._ids(prompts), strict=True):
            windows, cut = request_windows(ids, spec)
            alone = self._ids(paragraphs(prompt, spec))
            out.append((request_units(windows, alone, spec), len(windows), cut))
        return out

    def _ids(self, texts: list[str]) -> list[Ids]:
        if not texts:
            return []
        # verbose=False: long texts are expected; windows and pairs cut them, reported.
        out: list[Ids] = self._tokenizer(texts, add_special_tokens=False,
                                         verbose=False)["input_ids"]
        return out

    def logits(self, rows: list[Row]) -> list[float]:
        """One logit per row: in torch in padding-aware micro-batches, in int8 one row at a time
        (`Int8Model.logits` says why). Benchmarks call this directly."""
        if self._run is None:
            raise RuntimeError("cross-encoder backend used before load()")
        tok = self._tokenizer
        lengths = [len(a) + len(b or ()) + 3 for a, b in rows]
        out = [0.0] * len(rows)
        groups = (micro_batches(lengths, self.settings.max_batch_tokens)
                  if self.runtime == "torch" else [[i] for i in range(len(rows))])
        for group in groups:
            ids, mask, types = batch_tensors([rows[i] for i in group], tok.cls_token_id,
                                             tok.sep_token_id, tok.pad_token_id or 0,
                                             self._device)
            for i, z in zip(group, self._run(ids, mask, types), strict=True):
                out[i] = z
        return out

    def close(self) -> None:
        self._run = None
        self._requests.clear()


def _torch_run(model: PairClassifier) -> Run:
    @torch.inference_mode()
    def run(ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> list[float]:
        return [float(z) for z in model(ids, mask, types).tolist()]

    return run
