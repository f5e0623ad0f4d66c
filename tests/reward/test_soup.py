"""The soup of several trainings is exactly their mean: merged into a model, it changes each
weight by the average of the members' changes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reward_service.pairmodel import LORA_A, LORA_B, LORA_PREFIX, merge_lora
from reward_service.train.soup import soup

RANK, SCALE = 4, 2.0


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.query = nn.Linear(6, 5)
        self.value = nn.Linear(6, 5)


def member(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = {"head.weight": torch.randn(1, 5, generator=g), "head.bias": torch.randn(1, generator=g)}
    for name in ("query", "value"):
        out[f"{LORA_PREFIX}{name}{LORA_A}"] = torch.randn(RANK, 6, generator=g)
        out[f"{LORA_PREFIX}{name}{LORA_B}"] = torch.randn(5, RANK, generator=g)
    return out


def merged(delta: dict[str, torch.Tensor], scale: float) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    model = Tiny()
    merge_lora(model, delta, scale)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("k", [2, 3])
def test_a_soup_changes_every_weight_by_the_members_mean_change(k: int) -> None:
    members = [member(seed) for seed in range(k)]
    delta = soup(members)
    # Rank k*r with alpha k*alpha: the same scale as each member's.
    assert delta[f"{LORA_PREFIX}query{LORA_A}"].shape == (k * RANK, 6)
    assert delta[f"{LORA_PREFIX}query{LORA_B}"].shape == (5, k * RANK)
    got = merged(delta, SCALE)
    each = [merged(m, SCALE) for m in members]
    for name, value in got.items():
        mean = torch.stack([e[name] for e in each]).mean(0)
        torch.testing.assert_close(value, mean, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(delta["head.weight"],
                               torch.stack([m["head.weight"] for m in members]).mean(0))


def test_a_soup_of_one_is_that_member() -> None:
    one = member(7)
    assert all(torch.equal(one[key], value) for key, value in soup([one]).items())


def test_an_empty_soup_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        soup([])
