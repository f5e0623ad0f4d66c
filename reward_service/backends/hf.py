"""Loading and batching helpers shared by the transformers backends (llama-guard, classifier)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from transformers import AutoTokenizer

from reward_service.backends.base import ModelBackend
from reward_service.backends.torch_utils import configure_threads, resolve_device, resolve_dtype
from reward_service.exceptions import ConfigError, ModelLoadError
from reward_service.settings import RewardSettings


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
    """Keep a quarter of the budget from the start and the rest from the (newest) end."""
    if len(ids) <= keep:
        return ids
    head = keep // 4
    return ids[:head] + ids[len(ids) - (keep - head):]


class PretrainedBackend(ModelBackend):
    """A transformers model from a local path: loading is the same for every such backend;
    `configure` adds what a kind of model needs once it is loaded."""

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
