"""``safethink-eval``: attack success rate and utility through the proxy, by policy.

Each request names its policy (and m, with --sweep-m). A proxy lets no request change its
policy or knobs by default, and lets an allowed knob only make the guard stricter, so start the
proxy for an evaluation with exactly what the run needs, e.g. for the command below:

    SAFETHINK_ALLOWED_POLICIES='["none","safepath","safethink","zerothink"]' \\
    SAFETHINK_REQUEST_OVERRIDES='["policy","steer_steps"]' \\
    SAFETHINK_OVERRIDE_STEER_STEPS_MIN=0 python -m proxy ...

    safethink-eval --base-url http://127.0.0.1:8080/v1 --model MODEL \\
        --prompts harmbench:val --utility eval/utility/mathvista_layout_sample.jsonl \\
        --policies none,safethink,zerothink,safepath --k 3 --judge reward \\
        --reward-url http://127.0.0.1:8081 --sweep-m 0-6 --out eval-out

(--extra-body '{"safethink": {"tau": -0.2}}' also needs "tau" in SAFETHINK_REQUEST_OVERRIDES
and SAFETHINK_OVERRIDE_TAU_MIN=-0.2.) When the proxy refuses them, the run says which settings
it needs. Never leave a production proxy open like this: a client could turn its guard off.

Writes OUT/results.jsonl (one line per sample; rerun the same command to resume),
OUT/summary.json, OUT/table.md, OUT/asr_by_policy.png and, with --sweep-m, OUT/asr_vs_m.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from . import report, require_extras, runner
from .datasets import DatasetError, load_attack, load_utility
from .judges import Judge, LLMJudge, RefusalJudge, RewardJudge

EXIT_INCOMPLETE = 3


def parse_ms(text: str) -> tuple[int, ...]:
    """'0-6' or '0,1,3' -> the m values."""
    out: list[int] = []
    for part in text.split(","):
        lo, sep, hi = part.partition("-")
        out += list(range(int(lo), int(hi) + 1)) if sep else [int(lo)]
    if not out or min(out) < 0 or max(out) > 64:
        raise argparse.ArgumentTypeError("m values must be in 0..64")
    return tuple(dict.fromkeys(out))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="safethink-eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-url", required=True, help="OpenAI base URL (the proxy's .../v1)")
    p.add_argument("--model", required=True)
    p.add_argument("--api-key", default=os.environ.get("SAFETHINK_EVAL_API_KEY"),
                   help="bearer key for --base-url (env SAFETHINK_EVAL_API_KEY)")
    p.add_argument("--prompts", help="attack prompts: a JSONL file, harmbench[:test|val], "
                   "donotanswer[:CATEGORY]")
    p.add_argument("--utility", help="utility questions with reference answers (JSONL)")
    p.add_argument("--limit", type=int, help="use only the first N prompts of each set")
    p.add_argument("--policies", default="none,safethink",
                   help=f"comma-separated, from {', '.join(runner.POLICIES)} ('default' sets "
                        "no policy and sends no safethink field unless --extra-body has one: "
                        "the deployment's policy, or the bare upstream). The proxy must "
                        "allow them: SAFETHINK_ALLOWED_POLICIES, and policy in "
                        "SAFETHINK_REQUEST_OVERRIDES")
    p.add_argument("--sweep-m", type=parse_ms, default=(),
                   help="run the safethink policy at each steer_steps m, e.g. 0-6 (the proxy "
                        "needs steer_steps in SAFETHINK_REQUEST_OVERRIDES, and "
                        "SAFETHINK_OVERRIDE_STEER_STEPS_MIN at most the lowest m)")
    p.add_argument("--k", type=int, default=3, help="samples per attack prompt (any-of-k)")
    p.add_argument("--seed", default="0",
                   help="sample j is sent with seed SEED+j; 'none' sends no seed")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--max-tokens", type=int, default=1024)
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--extra-body", type=json.loads, default={},
                   help="JSON object merged into every request body; its 'safethink' "
                        "options (e.g. {\"safethink\": {\"tau\": -0.2}}) are sent with "
                        "every policy; each must be in the proxy's SAFETHINK_REQUEST_OVERRIDES, "
                        "and a looser one than the proxy's needs its bound, e.g. "
                        "SAFETHINK_OVERRIDE_TAU_MIN")
    p.add_argument("--request-timeout", type=float, default=600.0)
    p.add_argument("--judge", choices=("reward", "llm", "refusal"),
                   help="default: reward with --reward-url, else llm with --judge-url, "
                        "else refusal")
    p.add_argument("--reward-url", help="reward service base URL (POST /v1/score)")
    p.add_argument("--tau", type=float, default=0.0, help="reward judge: harmful below this")
    p.add_argument("--judge-url", help="LLM judge: an OpenAI base URL")
    p.add_argument("--judge-model", help="LLM judge: the model name")
    p.add_argument("--judge-api-key", default=os.environ.get("SAFETHINK_JUDGE_API_KEY"))
    p.add_argument("--out", type=Path, default=Path("eval-out"))
    p.add_argument("--no-text", action="store_true",
                   help="keep no reasoning or answer text in results.jsonl")
    p.add_argument("--stop-after", type=int, help="stop after N new samples (resume later)")
    p.add_argument("--overwrite", action="store_true",
                   help="discard results of other settings in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def make_judge(args: argparse.Namespace, http: httpx.AsyncClient) -> Judge:
    name = args.judge or ("reward" if args.reward_url else "llm" if args.judge_url
                          else "refusal")
    if name == "reward":
        if not args.reward_url:
            raise SystemExit("--judge reward needs --reward-url")
        return RewardJudge(http, args.reward_url, args.tau)
    if name == "llm":
        if not (args.judge_url and args.judge_model):
            raise SystemExit("--judge llm needs --judge-url and --judge-model")
        return LLMJudge(http, args.judge_url, args.judge_model, args.judge_api_key)
    return RefusalJudge()


async def _main(args: argparse.Namespace) -> int:
    policies = tuple(p.strip() for p in args.policies.split(",") if p.strip())
    bad = [p for p in policies if p not in runner.POLICIES]
    if bad:
        raise SystemExit(f"unknown policies {bad}; choose from {', '.join(runner.POLICIES)}")
    if not (args.prompts or args.utility):
        raise SystemExit("give --prompts and/or --utility")
    try:
        attack = load_attack(args.prompts, args.limit) if args.prompts else []
        utility = load_utility(args.utility, args.limit) if args.utility else []
    except DatasetError as exc:
        raise SystemExit(f"safethink-eval: {exc}") from exc
    async with httpx.AsyncClient(timeout=httpx.Timeout(args.request_timeout)) as judge_http:
        judge = make_judge(args, judge_http)
        cfg = runner.EvalConfig(
            base_url=args.base_url, model=args.model, out_dir=args.out, judge=judge,
            attack=attack, utility=utility, policies=policies, sweep_m=args.sweep_m, k=args.k,
            seed=None if args.seed == "none" else int(args.seed), concurrency=args.concurrency,
            max_tokens=args.max_tokens, temperature=args.temperature, api_key=args.api_key,
            extra_body=args.extra_body, store_text=not args.no_text, stop_after=args.stop_after,
            overwrite=args.overwrite, request_timeout=args.request_timeout)
        total = len(runner.tasks(cfg))
        print(f"safethink-eval: {len(attack)} attack prompts x k={cfg.k}, {len(utility)} "
              f"utility questions, {len(policies)} policies: {total} requests; "
              f"judge={judge.name}; results in {args.out}", file=sys.stderr)
        bar = None if args.quiet else _tqdm(total)

        def progress(done: int, _total: int) -> None:
            if bar is not None:
                bar.n = done
                bar.refresh()

        try:
            records = await runner.run(cfg, progress)
        except runner.RunError as exc:
            raise SystemExit(f"safethink-eval: {exc}") from exc
        finally:
            if bar is not None:
                bar.close()
    return write_outputs(cfg, records, total)


def _tqdm(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="req", file=sys.stderr, dynamic_ncols=True)


def write_outputs(cfg: runner.EvalConfig, records: list[dict[str, Any]], total: int) -> int:
    rows = report.aggregate(records)
    table = report.markdown(rows, cfg.k)
    out = cfg.out_dir
    (out / "table.md").write_text(table, encoding="utf-8")
    summary = report.summary(rows, cfg.fingerprint() | {"k": cfg.k, "policies": cfg.policies,
                                                         "sweep_m": cfg.sweep_m})
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    title = f"{cfg.model} ({cfg.judge.name if cfg.judge else 'no'} judge, any of k={cfg.k})"
    if any(r.asr is not None for r in rows):
        report.plot_asr(rows, out / "asr_by_policy.png", title)
        report.plot_sweep(rows, out / "asr_vs_m.png", title)
    print(table)
    done = sum(1 for r in records if not r.get("error"))
    errors = Counter(str(r["error"]) for r in records if r.get("error"))
    for message, count in errors.most_common(3):
        print(f"safethink-eval: {count} x {message}", file=sys.stderr)
    if any("HTTP 400" in message and "SAFETHINK_" in message for message in errors):
        needed = " ".join(f"{k}={shlex.quote(v)}" for k, v in runner.proxy_settings(cfg).items())
        print(f"safethink-eval: the proxy refused this run's per-request settings; start it "
              f"for the evaluation with: {needed}", file=sys.stderr)
    if done < total:
        print(f"safethink-eval: {total - done} of {total} samples not done (errors or "
              "--stop-after); rerun the same command to resume", file=sys.stderr)
        return EXIT_INCOMPLETE
    return 0


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    require_extras("matplotlib", "tqdm")
    try:
        code = asyncio.run(_main(args))
    except KeyboardInterrupt:
        print("safethink-eval: interrupted; rerun the same command to resume", file=sys.stderr)
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
