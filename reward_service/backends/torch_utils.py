"""Device, dtype and thread choices, and padding-aware micro-batches, for the torch backends."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from reward_service.exceptions import ConfigError
from reward_service.settings import RewardSettings

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(settings: RewardSettings) -> torch.device:
    if settings.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda but torch sees no CUDA device")
    if settings.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(settings.device)


def resolve_dtype(settings: RewardSettings, device: torch.device, *,
                  cpu_bf16: bool = False) -> torch.dtype:
    """bf16 on CUDA (half the memory, full speed); float32 on CPU, where bf16 is slow and lossy
    on most CPUs. `cpu_bf16`: the caller has checked that bf16 keeps its scores (the probe), so
    on a CPU with native bf16 dot products (AVX512_BF16 or AMX) auto means bf16 there too."""
    if settings.dtype == "auto":
        if device.type == "cuda" or (cpu_bf16 and cpu_has_native_bf16()):
            return torch.bfloat16
        return torch.float32
    return _DTYPES[settings.dtype]


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (Linux /proc/cpuinfo flags; False elsewhere).
    Without it oneDNN emulates bf16 and it is slower than float32."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            return bool(flags & {"avx512_bf16", "amx_bf16"})
    return False


def configure_threads(settings: RewardSettings, device: torch.device) -> None:
    """On CPU use the cores this process may run on (affinity, not the host's count)."""
    if device.type == "cpu":
        torch.set_num_threads(cpu_threads(settings))


def cpu_threads(settings: RewardSettings) -> int:
    """`threads`, else the cores this process may run on (affinity, not the host's count)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return settings.threads or max(1, cores or 1)


def micro_batches(lengths: Sequence[int], max_batch_tokens: int,
                  max_pad_ratio: float = 1.5) -> list[list[int]]:
    """Indices grouped by similar length: rows x longest row stays under the token budget, and
    no row is padded to more than `max_pad_ratio` times its length.

    Sorting by length before cutting keeps padding small: one long trace no longer pads
    thirty-one short ones up to its length (compute on padding is wasted, most of all on CPU).
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = max(lengths[index], 1)
        shortest = max(lengths[current[0]], 1) if current else longest
        if current and (longest * (len(current) + 1) > max_batch_tokens
                        or longest > max_pad_ratio * shortest):
            groups.append(current)
            current = []
        current.append(index)
    if current:
        groups.append(current)
    return groups
