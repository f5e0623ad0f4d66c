"""Streaming overhead of the SafeThink proxy next to a pass-through floor and LiteLLM.

A benchmark, not a test: see ``bench/README.md``. Run it from the repository root with the
project's venv::

    .venv/bin/python -m bench.proxy_bench [--quick] [--json out.json] [--litellm PATH]

Everything runs on 127.0.0.1, each server in its own process:

- a synthetic upstream and a scorer, instant or answering after ``--score-ms``
  (``bench/synthetic.py``); with ``--reward embedded`` the proxy targets use their real
  in-process default scorer instead, and no synthetic scorer runs;
- the measured targets, started one after the other (``bench/processes.py``): direct (no
  proxy), ``floor`` (a minimal Starlette/uvicorn + httpx proxy that parses and re-serialises
  every SSE event), this proxy with policy ``none``, with policy ``safethink`` under step
  release and under sentence release, and LiteLLM's proxy; with ``--baseline DIR``, the proxy
  of another checkout too, to compare new with old in one run (``--repeat N`` runs every target
  N times, interleaved, and takes the medians).

This process is the load generator (``bench/load.py``). Per target x pacing x concurrency it
reports (``bench/report.py``) the time to first token (TTFT) added to the direct one, the proxy's
CPU seconds per 1,000 chunks (its process tree's utime + stime), its peak RSS (VmHWM) and the
latency the scorer adds per held step. It always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

if not __package__:  # run as a script (python bench/proxy_bench.py): make ``bench`` importable
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.load import Cell, Plan, run_target
from bench.processes import (
    MASTER_KEY,
    PORT,
    StartError,
    Target,
    background,
    bench_argv,
    find_litellm,
    free_port,
    litellm_config,
    start_server,
)
from bench.report import (
    against_baselines,
    checks,
    compare,
    held_step_latency,
    monitor_checks,
    report,
    sentence_checks,
)
from bench.synthetic import CHUNKS, PACINGS, SENTENCE_ENDS, STEP_CHUNKS, run_server

POLICIES = ("none", "safethink")
# This checkout's proxy targets: (name, policy, SAFETHINK_RELEASE). The release is set even for
# step release, so that a change of the proxy's default leaves each target measuring the same.
PROXY_TARGETS = (
    ("safethink-none", "none", None),
    ("safethink-safethink", "safethink", "step"),
    ("safethink-sentence", "safethink", "sentence"),
    ("safethink-monitor", "monitor", None),
)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    quick = bool(args.quick)
    plan = Plan(
        concurrencies=args.concurrency,
        c1_requests=args.c1_requests or (8 if quick else 30),
        rounds=args.rounds or (1 if quick else 4),
        warmup=True,
    )
    logdir = Path(tempfile.mkdtemp(prefix="proxy-bench-"))
    upstream_port, scorer_port = free_port(), free_port()
    upstream = await start_server(
        "upstream",
        bench_argv("serve-upstream", "--port", str(upstream_port)),
        upstream_port,
        "/v1/models",
        logdir,
        wait_s=30,
    )
    servers = [upstream]
    reward = "embedded"  # the proxy's own default scorer, in its process
    if args.reward == "synthetic":
        try:
            scorer = await start_server(
                "scorer",
                bench_argv(
                    "serve-scorer", "--port", str(scorer_port), "--delay-ms", str(args.score_ms)
                ),
                scorer_port,
                "/healthz",
                logdir,
                wait_s=30,
            )
        except BaseException:
            upstream.stop()
            raise
        servers.append(scorer)
        reward = scorer.base
    upstream_v1 = upstream.base + "/v1"
    skipped: dict[str, str] = {}
    targets: list[Target | None] = [None]
    targets.append(
        Target(
            "floor",
            bench_argv("serve-floor", "--port", PORT, "--upstream", upstream_v1),
            "/healthz",
        )
    )
    for name, policy, release in PROXY_TARGETS:
        targets.append(proxy_target(name, policy, upstream_v1, reward, release=release))
    # An older checkout has no release setting (it would ignore the variable): policies only.
    baselines: dict[str, dict[str, str]] = {}  # name: the checkout, the policy, the new target
    for tree in args.baseline or []:
        for policy in POLICIES:
            name = f"{tree.name}-{policy}"
            baselines[name] = {"tree": str(tree), "policy": policy, "new": f"safethink-{policy}"}
            targets.append(proxy_target(name, policy, upstream_v1, reward, tree))
    litellm, why_not = find_litellm(args)
    if why_not:
        skipped["litellm"] = why_not
    elif litellm:
        config = logdir / "litellm.yaml"
        litellm_config(config, upstream_v1)
        argv = [
            litellm,
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            PORT,
            "--num_workers",
            "1",
        ]
        env = {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_LOG": "ERROR",
            "LITELLM_MASTER_KEY": MASTER_KEY,
            "LITELLM_TELEMETRY": "False",
        }
        targets.append(Target("litellm", argv, "/health/liveliness", env))
    wanted = {*args.targets, "direct"} if args.targets else None
    if wanted is not None:  # a baseline runs with its new counterpart
        wanted |= {name for name, info in baselines.items() if info["new"] in wanted}
    repeats: list[list[Cell]] = []
    started = time.monotonic()
    with background(servers):
        for repeat in range(args.repeat):
            # Every other repeat in reverse, so a drift in the box's load weighs on all alike.
            order = targets if repeat % 2 == 0 else [targets[0], *reversed(targets[1:])]
            cells: list[Cell] = []
            for target in order:
                name = "direct" if target is None else target.name
                if (wanted is not None and name not in wanted) or name in skipped:
                    continue
                elapsed = time.monotonic() - started
                print(f"[{elapsed:6.1f}s] {name} ({repeat + 1}/{args.repeat})", flush=True)
                try:
                    cells += await run_target(
                        target, upstream_v1 + "/chat/completions", plan, logdir, progress=True
                    )
                except StartError as exc:
                    skipped[name] = str(exc)
                    print(f"  skipped {name}: {exc}", flush=True)
            compare(cells)
            repeats.append(cells)
    cells = repeats[0]
    litellm_skip = skipped.get("litellm")
    result_checks = {
        name: checks(cells, name, litellm_skip)
        for name in ("safethink-none", "safethink-safethink")
    }
    result_checks["sentence release"] = sentence_checks(repeats, args.score_ms)
    result_checks["monitor"] = monitor_checks(repeats)
    return {
        "config": {
            "chunks_per_stream": CHUNKS,
            "step_chunks": STEP_CHUNKS,
            "sentence_ends": SENTENCE_ENDS,
            "score_ms": args.score_ms,
            "reward": args.reward,
            "pacings_ms": PACINGS,
            "concurrencies": plan.concurrencies,
            "c1_requests": plan.c1_requests,
            "rounds": plan.rounds,
            "quick": quick,
            "repeats": args.repeat,
            "baselines": baselines,
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "logs": str(logdir),
            "seconds": round(time.monotonic() - started, 1),
        },
        "cells": [asdict(c) for c in cells],
        "repeats": [[asdict(c) for c in rep] for rep in repeats],
        "checks": result_checks,
        "baseline": against_baselines(repeats, baselines),
        "held_step": held_step_latency(repeats),
        "skipped": skipped,
    }


def proxy_target(
    name: str,
    policy: str,
    upstream_v1: str,
    reward: str,
    tree: Path | None = None,
    release: str | None = None,
) -> Target:
    """``python -m proxy`` from this checkout, or from ``tree`` (another one) for a baseline;
    ``release`` is its ``SAFETHINK_RELEASE`` (unset: the proxy's default)."""
    argv = [sys.executable, "-m", "proxy", "--host", "127.0.0.1", "--port", PORT]
    argv += ["--upstream", upstream_v1, "--reward", reward, "--policy", policy]
    argv += ["--log-level", "warning"]
    env = {"SAFETHINK_RELEASE": release} if release else {}
    if tree is None:
        return Target(name, argv, "/healthz", env, metrics=True)
    # The venv has this checkout installed editable: the tree's own package must come first.
    return Target(
        name, argv, "/healthz", {**env, "PYTHONPATH": str(tree)}, cwd=tree, metrics=True
    )


def checkout(value: str) -> Path:
    tree = Path(value).resolve()
    if not (tree / "proxy" / "__init__.py").is_file():
        raise argparse.ArgumentTypeError(f"{value}: no proxy/__init__.py there")
    return tree


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command")
    for name in ("serve-upstream", "serve-scorer", "serve-floor"):
        serve_parser = sub.add_parser(name, help="internal: one of the bench's servers")
        serve_parser.add_argument("--port", type=int, required=True)
        serve_parser.add_argument("--upstream", default="")
        serve_parser.add_argument(
            "--delay-ms", type=float, default=0.0, help="the scorer answers after this many ms"
        )
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--litellm", help="the litellm executable (default .venv-bench/bin)")
    parser.add_argument("--no-litellm", action="store_true", help="leave LiteLLM out")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 16, 64], help="default 1 16 64"
    )
    parser.add_argument("--c1-requests", type=int, help="streams at c=1 (default 30; quick 8)")
    parser.add_argument("--rounds", type=int, help="streams per worker at c>1 (default 4)")
    parser.add_argument(
        "--targets",
        nargs="+",
        choices=("floor", *(name for name, _, _ in PROXY_TARGETS), "litellm"),
        help="run only these (direct always runs, a baseline with its new counterpart)",
    )
    parser.add_argument(
        "--baseline",
        type=checkout,
        action="append",
        metavar="DIR",
        help="also run the proxy of this checkout (a git worktree), policies none and safethink,"
        " and compare (repeatable)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run every target this many times, interleaved; the baseline comparison takes the"
        " medians (default 1)",
    )
    parser.add_argument(
        "--score-ms",
        type=float,
        default=0.0,
        help="the scorer answers every score call after this many ms, as a real one takes some"
        " (default 0: instant)",
    )
    parser.add_argument(
        "--reward",
        choices=("synthetic", "embedded"),
        default="synthetic",
        help="synthetic: the bench's scorer (instant or --score-ms; default); embedded: the"
        " proxy's real in-process default scorer (--reward embedded), to measure what it adds"
        " per held step",
    )
    args = parser.parse_args(argv)
    if args.command:  # serve-upstream, serve-scorer, serve-floor
        run_server(args.command.removeprefix("serve-"), args.port, args.upstream, args.delay_ms)
        return 0
    result = asyncio.run(bench(args))
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
