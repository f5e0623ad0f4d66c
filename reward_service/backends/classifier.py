"""classifier: any AutoModelForSequenceClassification safety classifier or scalar reward model.

Labelled models: score = sum P(safe labels) - sum P(unsafe labels), label names matched
case-insensitively against the settings. Single-output models (scalar rewards): score =
tanh(scale * (logit - offset)). The request and the trace go in as a text pair; when too long the
request keeps its head and the trace its newest tokens.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification

from reward_service.backends.base import PreparedItem, clamp_score
from reward_service.backends.hf import (
    PretrainedBackend,
    pad_id_of,
)
from reward_service.exceptions import ConfigError
from reward_service.schemas import ScoreResult
from reward_service.settings import RewardSettings


class ClassifierBackend(PretrainedBackend[dict[str, Any]]):
    name = "classifier"
    auto_class = AutoModelForSequenceClassification

    def __init__(self, settings: RewardSettings) -> None:
        super().__init__(settings)
        self._labels: list[str] = []
        self._safe: list[int] = []
        self._unsafe: list[int] = []

    def configure(self) -> None:
        config = self._model.config
        self._labels = [str(config.id2label.get(i, f"LABEL_{i}")) for i in range(config.num_labels)]
        if config.num_labels > 1:
            self._map_labels()

    def _map_labels(self) -> None:
        safe = {s.lower() for s in self.settings.classifier_safe_labels}
        unsafe = {s.lower() for s in self.settings.classifier_unsafe_labels}
        self._safe = [i for i, name in enumerate(self._labels) if name.lower() in safe]
        self._unsafe = [i for i, name in enumerate(self._labels) if name.lower() in unsafe]
        if not self._safe and not self._unsafe:
            raise ConfigError(f"none of the model's labels {self._labels} is configured as safe "
                              "or unsafe (classifier_safe_labels / classifier_unsafe_labels)")
        if set(self._safe) & set(self._unsafe):
            raise ConfigError("a label is configured as both safe and unsafe")

    def encode(self, item: PreparedItem) -> tuple[dict[str, Any], bool]:
        tok = self._tokenizer
        prompt = tok.encode(item.prompt, add_special_tokens=False, verbose=False)
        trace = None
        if item.trace:
            trace = tok.encode(item.trace, add_special_tokens=False, verbose=False)
        budget = self._max_tokens - tok.num_special_tokens_to_add(pair=trace is not None)
        total = len(prompt) + len(trace or [])
        cut = total > budget
        if not cut:
            return dict(tok(item.prompt, item.trace or None)), False
        if trace is not None:
            prompt = prompt[: max(budget // 2, budget - len(trace))]
            trace = trace[len(trace) - (budget - len(prompt)):]
        else:
            prompt = prompt[:budget]
        # Back to text so that the tokenizer adds its own special tokens and segment ids.
        pair = tok.decode(trace) if trace is not None else None
        encoded = tok(tok.decode(prompt), pair, truncation=True, max_length=self._max_tokens)
        return dict(encoded), cut

    def length(self, encoding: dict[str, Any]) -> int:
        return len(encoding["input_ids"])

    @torch.inference_mode()
    def run(self, rows: list[dict[str, Any]]) -> torch.Tensor:
        if self._tokenizer.pad_token_id is None:
            self._tokenizer.pad_token_id = pad_id_of(self._tokenizer)
        batch = self._tokenizer.pad(rows, return_tensors="pt")
        inputs = {k: v.to(self._device) for k, v in batch.items()}
        logits: torch.Tensor = self._model(**inputs).logits.float().cpu()
        return logits

    def result(self, logits: torch.Tensor, truncated: bool) -> ScoreResult:
        if logits.numel() == 1:
            value = float(logits.reshape(-1)[0])
            score = math.tanh(self.settings.classifier_scalar_scale
                              * (value - self.settings.classifier_scalar_offset))
            return ScoreResult(score=clamp_score(score), raw={"logit": value},
                               truncated=truncated)
        probs = torch.softmax(logits, dim=-1)
        raw = {name: float(p) for name, p in zip(self._labels, probs, strict=True)}
        p_safe, p_unsafe = float(probs[self._safe].sum()), float(probs[self._unsafe].sum())
        # With only one side configured, the other labels count as the opposite side.
        if not self._unsafe:
            p_unsafe = 1.0 - p_safe
        elif not self._safe:
            p_safe = 1.0 - p_unsafe
        score = p_safe - p_unsafe
        return ScoreResult(score=clamp_score(score), raw=raw, truncated=truncated)
