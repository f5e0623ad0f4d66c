"""Admission under load: 1,000 concurrent paced streams through one proxy process, then the same
burst past the proxy's concurrent-request limit.

A benchmark, not a test: see ``bench/README.md``. Run it from the repository root with the
project's venv::

    .venv/bin/python -m bench.admission_bench [--streams 1000] [--pace-ms 50] [--limit 200]

Everything runs on 127.0.0.1: the bench's synthetic upstream and instant scorer
(``bench/synthetic.py``) and one ``python -m proxy --policy safethink`` at a time, each its own
process (``bench/processes.py``). This process is the load generator (aiohttp, one connection a
stream). Two phases, each a fresh proxy:

1. ``unlimited``: the limit above the burst (``SAFETHINK_MAX_CONCURRENT_REQUESTS`` = 2 x
   streams): every stream must complete (200, text, ``[DONE]``, no in-band error). Prints the
   errors (0 expected), TTFT p50/p99 and the proxy's CPU seconds per 1,000 upstream chunks.
2. ``limited``: ``SAFETHINK_MAX_CONCURRENT_REQUESTS`` = ``--limit``; the same burst. The excess
   must get 503 in OpenAI's error envelope with ``Retry-After``, the admitted streams must all
   complete, and the proxy's resident set must not grow with the refused requests. Prints how
   many got 503 and the RSS before, at peak and after.

Every wait is bounded (``--timeout-s`` for a phase, a total timeout per request). It always
exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

if not __package__:  # run as a script (python bench/admission_bench.py)
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import aiohttp
import psutil

from bench.load import PROMPT, first_token, histogram_totals, percentile
from bench.processes import Server, background, bench_argv, free_port, start_server
from bench.synthetic import CHUNKS, FIRST_SENTENCE_CHUNKS, model_name

WARMUP_STREAMS = 20
ENVELOPE = {"message", "type", "param", "code"}
# RSS is flat when a repeated burst grows it by less than this (or 5 % of it, if more): the
# memory the admitted streams need is kept by the allocator, but refused requests add none.
RSS_FLAT_MB = 8.0


@dataclass
class Outcome:
    kind: str  # "ok", "refused" (a proper 503) or "error"
    ttft_s: float = 0.0
    detail: str = ""


@dataclass
class Phase:
    name: str
    limit: int
    rounds: int
    outcomes: list[Outcome] = field(default_factory=list)
    cpu_s: float = 0.0
    rss_before_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_after_mb: list[float] = field(default_factory=list)  # after each round
    seconds: float = 0.0
    error: str = ""
    # CPU seconds of everything else on the box during the burst: is the box saturated?
    others_cpu_s: dict[str, float] = field(default_factory=dict)
    means_ms: dict[str, float] = field(default_factory=dict)  # the proxy's own histograms

    def count(self, kind: str) -> int:
        return sum(o.kind == kind for o in self.outcomes)


def raise_open_files(needed: int) -> str:
    """Raise the soft limit on open files to ``needed`` (the servers started later inherit it);
    a line saying what the limit is."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    ok = "" if soft >= needed else f" (below the {needed} needed: expect connection errors)"
    return f"open files: soft limit {soft}, hard {hard}{ok}"


def rss_mb(server: Server) -> float:
    """The resident set now, summed over the server's process tree."""
    total = 0
    for process in server.tree():
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total / 2**20


async def one_stream(
    session: aiohttp.ClientSession, url: str, model: str, go: asyncio.Event
) -> Outcome:
    body = {"model": model, "messages": PROMPT, "stream": True, "max_tokens": 1024}
    await go.wait()  # every stream of the burst leaves at once
    started = time.perf_counter()
    try:
        async with session.post(url, json=body) as response:
            if response.status == 503:
                return refused(response.headers.get("retry-after"), await response.read())
            if response.status != 200:
                text = (await response.read())[:200].decode(errors="replace")
                return Outcome("error", detail=f"HTTP {response.status}: {text}")
            buffer = bytearray()
            scanned = 0
            ttft = 0.0
            async for raw in response.content.iter_any():
                buffer += raw
                if not ttft:
                    found, scanned = first_token(bytes(buffer), scanned)
                    if found:
                        ttft = time.perf_counter() - started
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Outcome("error", detail=f"{exc.__class__.__name__}: {exc}"[:200])
    if b'data: {"error"' in buffer:
        start = buffer.find(b'data: {"error"')
        return Outcome("error", ttft, "in-band " + buffer[start : start + 200].decode())
    if not ttft or b"data: [DONE]" not in buffer[-64:]:
        return Outcome("error", ttft, "no text or no [DONE]")
    return Outcome("ok", ttft)


def refused(retry_after: str | None, data: bytes) -> Outcome:
    """A 503 is a proper refusal when it says when to retry, in OpenAI's error envelope."""
    try:
        error = json.loads(data)["error"]
        envelope = isinstance(error, dict) and set(error) >= ENVELOPE
    except (ValueError, KeyError, TypeError):
        envelope = False
    if retry_after is None or not retry_after.isdigit():
        return Outcome("error", detail=f"503 without a Retry-After: {data[:120]!r}")
    if not envelope:
        return Outcome("error", detail=f"503 not in OpenAI's envelope: {data[:120]!r}")
    return Outcome("refused")


async def burst(url: str, model: str, streams: int, request_timeout_s: float) -> list[Outcome]:
    connector = aiohttp.TCPConnector(limit=streams + 16, force_close=True)
    timeout = aiohttp.ClientTimeout(total=request_timeout_s, sock_connect=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        go = asyncio.Event()
        tasks = [asyncio.ensure_future(one_stream(session, url, model, go))
                 for _ in range(streams)]
        await asyncio.sleep(0)  # every task waits on `go`
        go.set()
        return list(await asyncio.gather(*tasks))


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# The proxy's histograms that tell where time to first token goes (their means are printed).
HISTOGRAMS = {
    "upstream first event": "safethink_upstream_ttft_seconds",
    "score call": "safethink_score_latency_seconds",
    "held step's wait for its verdict": "safethink_proxy_added_seconds",
}


def means_ms(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Each of HISTOGRAMS' mean over what happened between ``before`` and ``after``, in ms."""
    means = {}
    for label, metric in HISTOGRAMS.items():
        count = after.get(metric + "_count", 0.0) - before.get(metric + "_count", 0.0)
        if count > 0:
            total = after.get(metric + "_sum", 0.0) - before.get(metric + "_sum", 0.0)
            means[label] = total / count * 1000
    return means


async def sample_rss(server: Server, peak: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_mb(server))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def run_phase(phase: Phase, args: argparse.Namespace, upstream: Server, scorer: Server,
                    logdir: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "proxy", "--host", "127.0.0.1", "--port", str(port),
            "--upstream", upstream.base + "/v1", "--reward", scorer.base,
            "--policy", "safethink", "--log-level", "warning"]
    env = {
        "SAFETHINK_MAX_CONCURRENT_REQUESTS": str(phase.limit),
        # The upstream pool holds every admitted stream plus the warm-up's stragglers.
        "SAFETHINK_UPSTREAM_MAX_CONNECTIONS": str(args.streams + 64),
    }
    proxy = await start_server(f"proxy-{phase.name}", argv, port, "/healthz", logdir, env)
    print(f"  proxy {phase.name} is pid {proxy.proc.pid} (log {proxy.log})", flush=True)
    url = proxy.base + "/v1/chat/completions"
    model = model_name(args.pace_ms)
    try:
        # Connections and first-call costs, not measured; within the limit.
        warm = await burst(url, model_name(0), min(WARMUP_STREAMS, phase.limit),
                           args.request_timeout_s)
        if (bad := [o for o in warm if o.kind != "ok"]):
            phase.error = f"warm-up failed: {bad[0].kind} {bad[0].detail}"
            return
        await asyncio.sleep(0.5)
        phase.rss_before_mb = rss_mb(proxy)
        peak = [phase.rss_before_mb]
        stop = asyncio.Event()
        sampler = asyncio.ensure_future(sample_rss(proxy, peak, stop))
        cpu_before = proxy.cpu_seconds()
        others = {"upstream": upstream, "scorer": scorer}
        others_before = {name: server.cpu_seconds() for name, server in others.items()}
        load_before = own_cpu_seconds()
        totals_before = await histogram_totals(proxy.base)
        started = time.monotonic()
        try:
            for _ in range(phase.rounds):
                phase.outcomes += await asyncio.wait_for(
                    burst(url, model, args.streams, args.request_timeout_s), args.timeout_s)
                await asyncio.sleep(1.0)  # the proxy's bookkeeping after the last stream
                phase.rss_after_mb.append(rss_mb(proxy))
        except TimeoutError:
            phase.error = f"a burst did not finish in {args.timeout_s:.0f}s"
        finally:
            phase.seconds = time.monotonic() - started
            phase.cpu_s = proxy.cpu_seconds() - cpu_before
            phase.others_cpu_s = {name: server.cpu_seconds() - others_before[name]
                                  for name, server in others.items()}
            phase.others_cpu_s["load generator"] = own_cpu_seconds() - load_before
            phase.means_ms = means_ms(totals_before, await histogram_totals(proxy.base))
            stop.set()
            await sampler
            phase.rss_peak_mb = peak[0]
    finally:
        proxy.stop()


def report(phase: Phase, args: argparse.Namespace) -> list[str]:
    """Print the phase; return its failed checks."""
    ok, refused_n, errors = phase.count("ok"), phase.count("refused"), phase.count("error")
    ttfts = [o.ttft_s * 1e3 for o in phase.outcomes if o.kind == "ok"]
    chunks = ok * CHUNKS
    rounds = f", {phase.rounds} rounds" if phase.rounds > 1 else ""
    print(f"\n{phase.name}: {args.streams} streams at once{rounds}, limit {phase.limit}, "
          f"{args.pace_ms:g} ms a chunk ({phase.seconds:.1f}s)")
    if phase.error:
        print(f"  did not run to the end: {phase.error}")
    print(f"  completed {ok}, refused with 503 {refused_n}, errors {errors} (0 expected)")
    for detail, n in Counter(o.detail for o in phase.outcomes if o.kind == "error").most_common(5):
        print(f"    {n}x {detail}")
    print(f"  TTFT p50 {percentile(ttfts, 0.5):.1f} ms, p99 {percentile(ttfts, 0.99):.1f} ms"
          f" (includes the first sentence, {FIRST_SENTENCE_CHUNKS} chunks and one more,"
          " held until scored)")
    if chunks:
        print(f"  proxy CPU {phase.cpu_s:.2f} s = {phase.cpu_s / chunks * 1000:.3f} s per 1,000"
              f" chunks ({chunks} chunks)")
    after = ", ".join(f"{mb:.1f}" for mb in phase.rss_after_mb) or "-"
    print(f"  proxy RSS before {phase.rss_before_mb:.1f} MB, peak {phase.rss_peak_mb:.1f} MB,"
          f" after each round {after} MB")
    if phase.means_ms:
        print("  proxy's means: " + ", ".join(
            f"{label} {ms:.1f} ms" for label, ms in phase.means_ms.items()))
    if phase.seconds:
        others = ", ".join(f"{name} {cpu:.1f}" for name, cpu in phase.others_cpu_s.items())
        print(f"  CPU s over the {phase.seconds:.1f}s of bursts: proxy {phase.cpu_s:.1f}, {others}"
              f" (the box has {psutil.cpu_count()} cores, shared)")
    failed = []
    if phase.error:
        failed.append(f"{phase.name}: {phase.error}")
    if errors:
        failed.append(f"{phase.name}: {errors} errors")
    bursts = len(phase.rss_after_mb)
    expected_refused = max(args.streams - phase.limit, 0) * bursts
    if phase.outcomes and refused_n != expected_refused:
        failed.append(f"{phase.name}: {refused_n} refused, {expected_refused} expected")
    if phase.outcomes and ok != args.streams * bursts - expected_refused:
        failed.append(f"{phase.name}: {ok} of {args.streams * bursts - expected_refused} "
                      "admitted streams completed")
    if len(phase.rss_after_mb) > 1:
        grew = phase.rss_after_mb[-1] - phase.rss_after_mb[0]
        if grew > max(RSS_FLAT_MB, 0.05 * phase.rss_after_mb[0]):
            failed.append(f"{phase.name}: RSS grew {grew:.1f} MB from the first round to the last")
    return failed


async def bench(args: argparse.Namespace) -> list[str]:
    # Per stream: the client's socket, and the proxy's two (client side, upstream side).
    print(raise_open_files(3 * args.streams + 256))
    logdir = Path(tempfile.mkdtemp(prefix="admission-bench-"))
    upstream_port, scorer_port = free_port(), free_port()
    upstream = await start_server(
        "upstream", bench_argv("serve-upstream", "--port", str(upstream_port)), upstream_port,
        "/v1/models", logdir, wait_s=30)
    servers = [upstream]
    with background(servers):
        scorer = await start_server(
            "scorer", bench_argv("serve-scorer", "--port", str(scorer_port)), scorer_port,
            "/healthz", logdir, wait_s=30)
        servers.append(scorer)
        phases = [Phase("unlimited", 2 * args.streams, 1),
                  Phase("limited", args.limit, args.limited_rounds)]
        failed: list[str] = []
        for phase in phases:
            await run_phase(phase, args, upstream, scorer, logdir)
            failed += report(phase, args)
    print()
    print("PASS" if not failed else "FAIL:\n  " + "\n  ".join(failed))
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--streams", type=int, default=1000, help="the burst (default 1000)")
    parser.add_argument("--pace-ms", type=float, default=50.0,
                        help=f"upstream pacing, ms a chunk; {CHUNKS} chunks a stream (default 50)")
    parser.add_argument("--limit", type=int, default=200,
                        help="SAFETHINK_MAX_CONCURRENT_REQUESTS in the second phase (default 200)")
    parser.add_argument("--limited-rounds", type=int, default=2,
                        help="bursts against the limited proxy, for RSS over rounds (default 2)")
    parser.add_argument("--timeout-s", type=float, default=300.0,
                        help="the most one burst may take (default 300)")
    parser.add_argument("--request-timeout-s", type=float, default=240.0,
                        help="the most one stream may take (default 240)")
    args = parser.parse_args(argv)
    asyncio.run(bench(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
