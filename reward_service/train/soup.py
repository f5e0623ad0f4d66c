"""A soup of fine-tuning runs: the mean of their deltas, as one LoRA delta of a higher rank.

Two runs of the same data and recipe that differ only in their seed move single rows of the
evaluate table by 5 to 20 points (README, "Where it is weak"), so the weights of any one run are
partly luck. Their mean is the cheapest way to lower that variance: every run starts from the same
packaged MiniLM and changes it by a small low-rank delta, so the mean stays a working model, and
it costs nothing at inference (the delta is merged at load, whatever its rank).

The mean of k deltas `s * B_i @ A_i` is exactly one delta of rank k*r and the same scale s
(alpha k*alpha): the A matrices stacked, the B matrices side by side and divided by k. Heads are
averaged. The soup's thresholds are calibrated afresh; the members' are never used.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from reward_service.pairmodel import LORA_A, LORA_B


def soup(members: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The members' mean delta; a single member comes back unchanged."""
    if not members:
        raise ValueError("a soup needs at least one member")
    k = len(members)
    out: dict[str, torch.Tensor] = {}
    for key in members[0]:
        parts = [m[key] for m in members]
        if key.endswith(LORA_A):
            out[key] = torch.cat(parts, dim=0)
        elif key.endswith(LORA_B):
            out[key] = torch.cat(parts, dim=1) / k
        else:
            out[key] = torch.stack(parts).mean(dim=0)
    return {key: value.contiguous() for key, value in out.items()}
