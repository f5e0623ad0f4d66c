"""llama-guard: a causal-LM guard (Llama-Guard-3-1B/8B and kin) loaded from a local path.

The request and the trace are rendered with the guard's own chat template (the trace as the
assistant turn, so the guard classifies the response, as in Llama Guard's response mode; an empty
trace classifies the request). Score = P(safe) - P(unsafe) of the first generated token, computed
from one forward pass (no generation). Long inputs are cut from the middle of the trace, keeping
the request and the newest trace text.
"""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM

from reward_service.backends.base import PreparedItem, clamp_score
from reward_service.backends.guard_prompt import (
    Renderer,
    render_guard_prompt,
    settle_content_format,
    tokenizer_renderer,
)
from reward_service.backends.hf import (
    PretrainedBackend,
    cut_middle_ids,
    pad_batch,
    pad_id_of,
)
from reward_service.exceptions import ConfigError, GuardOutputError
from reward_service.schemas import ScoreResult
from reward_service.settings import RewardSettings


class LlamaGuardBackend(PretrainedBackend[list[int]]):
    name = "llama-guard"
    auto_class = AutoModelForCausalLM

    def __init__(self, settings: RewardSettings) -> None:
        super().__init__(settings)
        self._safe_id = self._unsafe_id = -1
        self._renderer: Renderer | None = None

    def configure(self) -> None:
        if not getattr(self._tokenizer, "chat_template", None):
            raise ConfigError("llama-guard needs a tokenizer with a chat template")
        self._renderer = settle_content_format(tokenizer_renderer(self._tokenizer))
        self._safe_id = self._label_id(self.settings.guard_safe_token)
        self._unsafe_id = self._label_id(self.settings.guard_unsafe_token)
        if self._safe_id == self._unsafe_id:
            raise ConfigError("the safe and unsafe labels start with the same token")

    def _label_id(self, label: str) -> int:
        ids = self._tokenizer.encode(label, add_special_tokens=False)
        if not ids:
            raise ConfigError(f"label {label!r} encodes to no token")
        return int(ids[0])

    def _render(self, item: PreparedItem, trace: str) -> list[int]:
        assert self._renderer is not None, "configure() sets it when the guard loads"
        text = render_guard_prompt(self._renderer, item, trace)
        return list(self._tokenizer.encode(text, add_special_tokens=False, verbose=False))

    def encode(self, item: PreparedItem) -> tuple[list[int], bool]:
        ids = self._render(item, item.trace)
        if len(ids) <= self._max_tokens:
            return ids, False
        trace_ids = self._tokenizer.encode(item.trace, add_special_tokens=False, verbose=False)
        overflow = len(ids) - self._max_tokens
        keep = max(len(trace_ids) - overflow - 16, 0)  # 16: slack for re-tokenising the seam
        trace = self._tokenizer.decode(cut_middle_ids(trace_ids, keep)) if keep else ""
        ids = self._render(item, trace)
        # A request longer than the whole budget keeps its newest tokens (the template's end).
        return ids[-self._max_tokens:], True

    @torch.inference_mode()
    def run(self, rows: list[list[int]]) -> torch.Tensor:
        """P(next token) at each row's end: the guard's first generated token."""
        ids, mask = pad_batch(rows, pad_id_of(self._tokenizer), self._device, left=True)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        logits = self._model(input_ids=ids, attention_mask=mask, position_ids=positions).logits
        return torch.softmax(logits[:, -1, :].float(), dim=-1).cpu()

    def result(self, probs: torch.Tensor, truncated: bool) -> ScoreResult:
        p_safe = float(probs[self._safe_id])
        p_unsafe = float(probs[self._unsafe_id])
        if not (p_safe == p_safe and p_unsafe == p_unsafe):  # NaN: a broken forward pass
            raise GuardOutputError("the guard produced NaN probabilities")
        return ScoreResult(score=clamp_score(p_safe - p_unsafe),
                           raw={"p_safe": p_safe, "p_unsafe": p_unsafe},
                           truncated=truncated)
