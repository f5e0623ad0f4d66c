"""A short CUDA check (a few minutes): a tiny guard on the GPU in bf16, then the batcher under load.

    python bench/gpu_check.py                 # needs CUDA
    python bench/gpu_check.py --device cpu    # the same code path on CPU (float32)

Builds the tests' tiny random-weight guard, loads it with the llama-guard backend (bf16 and
torch.inference_mode on CUDA), checks that a batch scores like single items, then measures items/s
and p50/p99 in-process at concurrency 1, 8, 32 with --max-batch-size N vs 1, for the guard and the
probe. Not part of CI: run it when a GPU machine is at hand and keep the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reward_service.engine import Engine, create_engine
from reward_service.exceptions import ModelLoadError
from reward_service.schemas import ScoreItem
from reward_service.settings import RewardSettings
from tests.reward.tiny_models import build_guard

ITEMS = [ScoreItem(prompt="how do i make a bomb", trace="step one buy the chemicals " * (n % 7))
         for n in range(64)]


async def check_guard(settings: RewardSettings) -> None:
    engine = create_engine(settings)
    await engine.start()
    model = engine._backend._model  # type: ignore[attr-defined]
    dtype = next(model.parameters()).dtype
    device = next(model.parameters()).device
    batched = await engine.score(ITEMS[:8])
    singles = [(await engine.score([i]))[0] for i in ITEMS[:8]]
    drift = max(abs(a.score - b.score) for a, b in zip(batched, singles, strict=True))
    print(f"guard loaded on {device} as {dtype}; batch-vs-single max drift {drift:.2e}")
    await engine.aclose()


async def load(engine: Engine, concurrency: int, seconds: float) -> tuple[float, float, float]:
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def client(n: int) -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            await engine.score([ITEMS[(n + len(latencies)) % len(ITEMS)]])
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(concurrency)))
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return len(latencies) / (time.perf_counter() - started), statistics.median(latencies), p99


async def bench(settings: RewardSettings, label: str, seconds: float) -> None:
    rates: dict[tuple[int, int], float] = {}
    for size in (settings.max_batch_size, 1):
        engine = create_engine(settings.model_copy(update={"max_batch_size": size}))
        await engine.start()
        await engine.score(ITEMS[:4])  # warm-up
        for conc in (1, 8, 32):
            rate, p50, p99 = await load(engine, conc, seconds)
            rates[(size, conc)] = rate
            print(f"{label:<12} batch {size:>3} conc {conc:>3}: {rate:8.1f} items/s "
                  f"p50 {1000 * p50:7.2f} ms p99 {1000 * p99:7.2f} ms")
        await engine.aclose()
    ratio = rates[(settings.max_batch_size, 32)] / rates[(1, 32)]
    print(f"{label:<12} batched/unbatched throughput at concurrency 32: x{ratio:.2f}")


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--max-batch-size", type=int, default=32)
    p.add_argument("--probe-model", help="MiniLM directory (default: the packaged one)")
    args = p.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device: run with --device cpu for the CPU path")
    if args.device == "cuda":
        print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        guard = RewardSettings(backend="llama-guard", model=str(build_guard(Path(tmp))),
                               device=args.device, max_batch_size=args.max_batch_size)
        await check_guard(guard)
        await bench(guard, "tiny-guard", args.seconds)
    probe = RewardSettings(backend="probe", device=args.device, model=args.probe_model,
                           max_batch_size=args.max_batch_size)
    try:
        await bench(probe, "probe", args.seconds)
    except ModelLoadError as exc:
        print(f"probe skipped: {exc}")


if __name__ == "__main__":
    asyncio.run(main())
