"""Loading and batching helpers shared by the transformers backends (llama-guard, classifier)."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import torch
from transformers import AutoTokenizer

from reward_service.backends.base import ModelBackend, PreparedItem
from reward_service.backends.torch_utils import (
    configure_threads,
    micro_batches,
    resolve_device,
    resolve_dtype,
)
from reward_service.exceptions import ConfigError, ModelLoadError
from reward_service.schemas import ScoreResult
from reward_service.settings import RewardSettings
from reward_service.text import HEAD_SHARE


def require_model_path(settings: RewardSettings) -> Path:
    path = settings.model_path()
    if path is None:
        raise ConfigError(f"backend {settings.backend} needs --model PATH (a local directory)")
    if not path.exists():
        raise ConfigError(f"model path {path} does not exist")
    return path


def load_pretrained(settings: RewardSettings, auto_cls: Any) -> tuple[Any, Any, torch.device]:
    """Tokenizer and model from a local path, on the configured device and dtype, in eval mode."""
    path = require_model_path(settings)
    device = resolve_device(settings)
    configure_threads(settings, device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = auto_cls.from_pretrained(str(path), dtype=resolve_dtype(settings, device))
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"cannot load {settings.backend} model from {path}: {exc}") from exc
    return tokenizer, model.to(device).eval(), device


def pad_batch(rows: list[list[int]], pad_id: int, device: torch.device,
              *, left: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """input_ids and attention_mask; left padding puts every row's last token in the last column."""
    width = max(len(row) for row in rows)
    ids, mask = [], []
    for row in rows:
        fill = width - len(row)
        ids.append([pad_id] * fill + row if left else row + [pad_id] * fill)
        mask.append([0] * fill + [1] * len(row) if left else [1] * len(row) + [0] * fill)
    return (torch.tensor(ids, dtype=torch.long, device=device),
            torch.tensor(mask, dtype=torch.long, device=device))


def pad_id_of(tokenizer: Any) -> int:
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0):
        if candidate is not None:
            return int(candidate)
    return 0


def model_max_tokens(settings: RewardSettings, tokenizer: Any, model: Any) -> int:
    limits = [settings.max_input_tokens,
              int(getattr(model.config, "max_position_embeddings", 0) or 0),
              int(getattr(tokenizer, "model_max_length", 0) or 0)]
    return min(limit for limit in limits if limit > 0)


def cut_middle_ids(ids: list[int], keep: int) -> list[int]:
    """Keep HEAD_SHARE of the budget from the start and the rest from the (newest) end, as
    `text.truncate_middle` does with characters."""
    if len(ids) <= keep:
        return ids
    head = int(keep * HEAD_SHARE)
    return ids[:head] + ids[len(ids) - (keep - head):]


Encoding = TypeVar("Encoding")


class PretrainedBackend(ModelBackend, Generic[Encoding]):
    """A transformers model from a local path. Loading, the batch loop and closing are the same
    for every such backend; a kind of model adds `configure` (once loaded), `encode` (one item to
    its model's input: token ids, or the tokenizer's fields), `run` (one padded micro-batch) and
    `result` (one row of the output)."""

    auto_class: ClassVar[Any]

    def __init__(self, settings: RewardSettings) -> None:
        super().__init__()
        self.settings = settings
        self._tokenizer: Any = None
        self._model: Any = None
        self._device = torch.device("cpu")
        self._max_tokens = settings.max_input_tokens

    def load(self) -> None:
        self._tokenizer, self._model, self._device = load_pretrained(self.settings,
                                                                     self.auto_class)
        self.configure()
        self._max_tokens = model_max_tokens(self.settings, self._tokenizer, self._model)
        self.model_name = require_model_path(self.settings).name

    def configure(self) -> None:
        """Check and prepare what this kind of model needs (labels, tokens)."""

    def forward(self, items: list[PreparedItem]) -> list[ScoreResult]:
        """Encode every item, run length-sorted micro-batches, and answer in the items' order."""
        encoded = [self.encode(item) for item in items]
        results: list[ScoreResult | None] = [None] * len(items)
        lengths = [self.length(encoding) for encoding, _ in encoded]
        for group in micro_batches(lengths, self.settings.max_batch_tokens):
            output = self.run([encoded[i][0] for i in group])
            for row, index in enumerate(group):
                results[index] = self.result(output[row], items[index].truncated
                                             or encoded[index][1])
        return [r for r in results if r is not None]

    @abstractmethod
    def encode(self, item: PreparedItem) -> tuple[Encoding, bool]:
        """The item's model input (special tokens included), and whether it was cut to fit."""

    def length(self, encoding: Encoding) -> int:
        """Tokens in one encoding (micro-batches are cut by tokens)."""
        return len(encoding)  # type: ignore[arg-type]

    @abstractmethod
    def run(self, rows: list[Encoding]) -> torch.Tensor:
        """The model's output for one micro-batch, one row per input row, on the CPU."""

    @abstractmethod
    def result(self, row: torch.Tensor, truncated: bool) -> ScoreResult:
        """The score of one item from its output row."""

    def close(self) -> None:
        self._model = None
        if self._device.type == "cuda":
            torch.cuda.empty_cache()
