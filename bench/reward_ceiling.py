"""What dynamic batching can buy for the probe on this machine: the ceiling, measured in process.

    python -m bench.reward_ceiling                 # the probe's dtype on this CPU (auto)
    python -m bench.reward_ceiling --dtype float32

`reward_bench.py` measures the server over HTTP; this measures the forward pass alone, with no
HTTP, queue or client in the way, so its batched/unbatched ratio bounds what the server can reach.
Three tables, all from one run:
1. the benchmark's own workload (proxy-like: 32 interleaved requests, each scored after each of
   8 growing trace steps) through the probe backend, in batches of 32 against batches of 1;
2. the same ratio by tokens per item, on synthetic rows of a fixed length;
3. one of MiniLM's Linear layers (384 -> 1536) by rows: GFLOP/s, to show from how many rows a
   matrix multiply runs at this CPU's full speed (one item of T tokens is already T rows).
A benchmark, not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable, Sequence

import torch

from bench.reward_bench import STEPS_PER_REQUEST, item
from reward_service.backends.base import PreparedItem
from reward_service.backends.probe import ProbeBackend
from reward_service.settings import RewardSettings

_runs = itertools.count()


def rate(run: Callable[[Sequence[object]], object], rows: Sequence[object], batch: int,
         seconds: float) -> float:
    """Rows per second through `run`, in slices of `batch`, for about `seconds`."""
    run(rows[:batch])  # warm-up
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for start in range(0, len(rows), batch):
            run(rows[start:start + batch])
            done += len(rows[start:start + batch])
    return done / (time.perf_counter() - started)


def workload(streams: int) -> list[PreparedItem]:
    """Proxy-like order: `streams` new requests in flight, each scored after each step."""
    tag = f"ceiling{next(_runs)}-{time.time_ns()}"  # new request texts: the cache misses
    rows = []
    for step in range(STEPS_PER_REQUEST):
        for stream in range(streams):
            body = item(f"{tag}.{stream}", step)
            rows.append(PreparedItem((("user", body["prompt"]),), body["prompt"], body["trace"],
                                     False))
    return rows


def bench_workload(backend: ProbeBackend, seconds: float) -> tuple[float, float]:
    def run(rows: Sequence[object]) -> object:
        return backend.forward(list(rows))  # type: ignore[arg-type]

    # Fresh texts each pass, so the request-embedding cache behaves as in the server bench.
    single = sum(rate(run, workload(32), 1, seconds / 2) for _ in range(2)) / 2
    batched = sum(rate(run, workload(32), 32, seconds / 2) for _ in range(2)) / 2
    return single, batched


def bench_lengths(backend: ProbeBackend, lengths: Sequence[int],
                  seconds: float) -> list[tuple[int, float, float]]:
    embedder = backend.embedder
    cls, sep = embedder.tokenizer.cls_token_id, embedder.tokenizer.sep_token_id
    out = []
    for tokens in lengths:
        rows = [[cls, *[2000 + (7 * i + j) % 5000 for j in range(tokens)], sep]
                for i in range(64)]
        run: Callable[[Sequence[object]], object] = embedder.embed_ids  # type: ignore[assignment]
        out.append((tokens, rate(run, rows, 1, seconds), rate(run, rows, 32, seconds)))
    return out


def bench_linear(dtype: torch.dtype, seconds: float) -> list[tuple[int, float]]:
    layer = torch.nn.Linear(384, 1536).to(dtype).eval()
    out = []
    with torch.inference_mode():
        for rows in (8, 32, 64, 128, 256, 2048):
            x = torch.randn(rows, 384).to(dtype)

            def forward(batch: Sequence[object], x: torch.Tensor = x) -> object:
                return layer(x)

            calls_s = rate(forward, [None], 1, seconds)
            out.append((rows, 2 * rows * 384 * 1536 * calls_s / 1e9))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dtype", default="auto", help="auto | float32 | bfloat16")
    p.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    args = p.parse_args()
    backend = ProbeBackend(RewardSettings(device="cpu", dtype=args.dtype))
    backend.load()
    dtype = next(backend.embedder.model.parameters()).dtype
    print(f"probe on cpu, {dtype}, {torch.get_num_threads()} threads")

    single, batched = bench_workload(backend, args.seconds)
    print("\n1. the reward bench's workload, forward pass only")
    print(f"   batch 1: {single:.1f} items/s, batch 32: {batched:.1f} items/s, "
          f"ceiling x{batched / single:.2f}")

    print("\n2. by tokens per item (+[CLS] and [SEP])")
    print(f"   {'tokens':>6} {'batch 1/s':>10} {'batch 32/s':>11} {'ratio':>7}")
    for tokens, one, many in bench_lengths(backend, (8, 16, 32, 64, 128), args.seconds):
        print(f"   {tokens:>6} {one:>10.1f} {many:>11.1f} {'x%.2f' % (many / one):>7}")

    print("\n3. one Linear(384 -> 1536) by rows")
    print(f"   {'rows':>6} {'GFLOP/s':>8}")
    for rows, gflops in bench_linear(dtype, args.seconds / 3):
        print(f"   {rows:>6} {gflops:>8.1f}")


if __name__ == "__main__":
    main()
