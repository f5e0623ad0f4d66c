"""The load generator: closed-loop streaming clients, and one measured cell per target x pacing x
concurrency (TTFT, stream time, the server's CPU and peak RSS).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.processes import MASTER_KEY, PORT, Server, Target, free_port, start_server
from bench.synthetic import CHUNKS, PACINGS, model_name

REQUEST_TIMEOUT_S = 60.0
# The proxy's histograms read around each cell (their means over the cell are kept): a held
# unit's wait for its verdict (what the scorer adds to a held step) and one score call.
HELD_WAIT = "safethink_proxy_added_seconds"
SCORE_CALL = "safethink_score_latency_seconds"
PROMPT = [{"role": "user", "content": "Explain how the tides work."}]


@dataclass
class Sample:
    ok: bool
    ttft_s: float = 0.0
    total_s: float = 0.0
    events: int = 0
    error: str = ""


def first_token(buffer: bytes, scanned: int) -> tuple[bool, int]:
    """Whether a complete SSE event from ``scanned`` on carries text; and where to go on."""
    for _ in range(10_000):
        end = buffer.find(b"\n\n", scanned)
        if end < 0:
            return False, scanned
        event, scanned = buffer[scanned:end].strip(), end + 2
        if not event.startswith(b"data:") or event.endswith(b"[DONE]"):
            continue
        with contextlib.suppress(ValueError, KeyError, IndexError, TypeError, AttributeError):
            delta = json.loads(event[5:])["choices"][0]["delta"] or {}
            if any(delta.get(k) for k in ("reasoning_content", "reasoning", "content")):
                return True, scanned
    return False, scanned


async def one_stream(
    client: httpx.AsyncClient, url: str, model: str, headers: dict[str, str]
) -> Sample:
    body = {"model": model, "messages": PROMPT, "stream": True, "max_tokens": 1024}
    started = time.perf_counter()
    try:
        async with client.stream("POST", url, json=body, headers=headers) as response:
            if response.status_code != 200:
                text = (await response.aread())[:200].decode(errors="replace")
                return Sample(False, error=f"HTTP {response.status_code}: {text}")
            buffer = bytearray()
            scanned = 0
            ttft = 0.0
            async for raw in response.aiter_raw():
                buffer += raw
                if not ttft:
                    found, scanned = first_token(bytes(buffer), scanned)
                    if found:
                        ttft = time.perf_counter() - started
            total = time.perf_counter() - started
    except httpx.HTTPError as exc:
        return Sample(False, error=f"{exc.__class__.__name__}: {exc}")
    events = buffer.count(b"data:")
    if not ttft or b"[DONE]" not in buffer[-100:]:
        return Sample(False, ttft, total, events, "no text or no [DONE]")
    return Sample(True, ttft, total, events)


async def run_load(
    url: str, model: str, concurrency: int, per_worker: int, headers: dict[str, str]
) -> list[Sample]:
    """``concurrency`` workers, each ``per_worker`` streams back to back (a closed loop)."""
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S, connect=10.0)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:

        async def worker() -> list[Sample]:
            return [await one_stream(client, url, model, headers) for _ in range(per_worker)]

        results = await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [sample for samples in results for sample in samples]


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Cell:
    target: str
    pacing: str
    concurrency: int
    requests: int
    ok: int
    ttft_med_ms: float
    ttft_p99_ms: float
    stream_med_ms: float
    cpu_s: float | None = None
    cpu_per_1k: float | None = None
    peak_rss_mb: float | None = None
    added_med_ms: float | None = None
    added_p99_ms: float | None = None
    cpu_vs_floor: float | None = None
    errors: list[str] = field(default_factory=list)
    # This proxy's own histograms over the measured streams (None for other targets).
    held_units: int | None = None
    held_wait_ms: float | None = None  # mean wait of a held unit (step or sentence) for its score
    score_calls: int | None = None
    score_call_ms: float | None = None  # mean score call


@dataclass
class Plan:
    concurrencies: list[int]
    c1_requests: int
    rounds: int
    warmup: bool

    def per_worker(self, concurrency: int) -> int:
        return self.c1_requests if concurrency == 1 else self.rounds


async def histogram_totals(base: str) -> dict[str, float]:
    """The ``_sum`` and ``_count`` of every histogram on the proxy's /metrics ({} if none)."""
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            text = (await client.get(base + "/metrics")).text
    except httpx.HTTPError:
        return {}
    totals: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name.endswith(("_sum", "_count")):
            with contextlib.suppress(ValueError):
                totals[name] = float(value)
    return totals


def histogram_mean(
    before: dict[str, float], after: dict[str, float], metric: str
) -> tuple[int, float | None]:
    """How many observations of ``metric`` fell between the two reads, and their mean in ms."""
    count = after.get(metric + "_count", 0.0) - before.get(metric + "_count", 0.0)
    if count <= 0:
        return 0, None
    total = after.get(metric + "_sum", 0.0) - before.get(metric + "_sum", 0.0)
    return int(count), total / count * 1000


async def run_cell(
    target: str,
    url: str,
    server: Server | None,
    pacing: str,
    concurrency: int,
    plan: Plan,
    headers: dict[str, str],
    metrics: bool = False,
) -> Cell:
    model = model_name(PACINGS[pacing])
    if plan.warmup:  # connections and first-call costs, not measured
        await run_load(url, model, concurrency, 1, headers)
    await asyncio.sleep(0.2)
    totals_before = await histogram_totals(server.base) if server and metrics else {}
    cpu_before = server.cpu_seconds() if server else 0.0
    samples = await run_load(url, model, concurrency, plan.per_worker(concurrency), headers)
    await asyncio.sleep(0.1)  # let the proxy finish its bookkeeping after the last stream
    cpu_after = server.cpu_seconds() if server else 0.0  # before /metrics costs it any
    cell = Cell(
        target=target,
        pacing=pacing,
        concurrency=concurrency,
        requests=len(samples),
        ok=sum(s.ok for s in samples),
        ttft_med_ms=percentile([s.ttft_s * 1e3 for s in samples if s.ok], 0.5),
        ttft_p99_ms=percentile([s.ttft_s * 1e3 for s in samples if s.ok], 0.99),
        stream_med_ms=percentile([s.total_s * 1e3 for s in samples if s.ok], 0.5),
        errors=[f"{n}x {e}" for e, n in Counter(s.error for s in samples if not s.ok).items()],
    )
    if server:
        cell.cpu_s = cpu_after - cpu_before
        cell.cpu_per_1k = cell.cpu_s / (len(samples) * CHUNKS) * 1000
        cell.peak_rss_mb = server.peak_rss_mb()
    if server and metrics:
        totals_after = await histogram_totals(server.base)
        cell.held_units, cell.held_wait_ms = histogram_mean(totals_before, totals_after, HELD_WAIT)
        cell.score_calls, cell.score_call_ms = histogram_mean(
            totals_before, totals_after, SCORE_CALL
        )
    return cell


async def run_target(
    target: Target | None, direct_url: str, plan: Plan, logdir: Path, progress: bool
) -> list[Cell]:
    server = None
    name = "direct"
    if target is not None:
        name = target.name
        port = free_port()  # chosen now, so no client connection has taken it meanwhile
        argv = [str(port) if arg == PORT else arg for arg in target.argv]
        server = await start_server(
            name, argv, port, target.health, logdir, target.env, cwd=target.cwd
        )
    url = direct_url if server is None else server.base + "/v1/chat/completions"
    if server is not None and progress:
        print(f"  {name} is pid {server.proc.pid} (logs {server.log})", flush=True)
    headers = {"authorization": f"Bearer {MASTER_KEY}"}
    cells: list[Cell] = []
    try:
        for pacing in PACINGS:
            for concurrency in plan.concurrencies:
                started = time.monotonic()
                cell = await run_cell(
                    name, url, server, pacing, concurrency, plan, headers,
                    metrics=target is not None and target.metrics,
                )
                cells.append(cell)
                if progress:
                    print(
                        f"  {name:<18} {pacing:<9} c={concurrency:<3}"
                        f" ok {cell.ok}/{cell.requests}  ttft med {cell.ttft_med_ms:7.2f} ms"
                        f"  ({time.monotonic() - started:.1f}s)",
                        flush=True,
                    )
    finally:
        if server is not None:
            server.stop()
    return cells
