"""``safethink-prefix-search``: pick the steering prefix for your model, offline.

    safethink-prefix-search --base-url http://127.0.0.1:8000/v1 --model MODEL \\
        --reward-url http://127.0.0.1:8081 --prompts harmbench:val --limit 50 \\
        --chat-template template.jinja --k 8 --out prefix-out

Needs the upstream itself (not the proxy) with ``/v1/completions``; KL needs prompt logprobs
(``echo`` + ``logprobs``: vLLM, llama-cpp-python; not ``transformers serve``). Prints the
ranking, writes OUT/prefix_search.json and OUT/prefix_search.png, and says which prefix to set.
See ``safethink_eval/prefix_search.py`` for the method, the KL estimator and the objectives.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import json
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import require_extras
from .datasets import DatasetError, load_attack
from .prefix_search import OBJECTIVES, SearchConfig, search

DEFAULT_POOL = Path(__file__).parent / "data" / "default_prefixes.txt"


def read_candidates(path: Path) -> list[str]:
    out: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        value = json.loads(text) if text.startswith('"') else text
        if isinstance(value, str) and value and value not in out:
            out.append(value)
    if not out:
        raise SystemExit(f"no candidates in {path}")
    return out


def template_renderer(template: str, bos: str = "",
                      eos: str = "") -> Callable[[list[dict[str, Any]]], str]:
    """A chat template (jinja text) as a function of the messages, as transformers renders it."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise ValueError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda v, **kw: json.dumps(v, ensure_ascii=False, **kw)
    env.globals["raise_exception"] = raise_exception
    compiled = env.from_string(template)

    def render(messages: list[dict[str, Any]]) -> str:
        return compiled.render(messages=messages, add_generation_prompt=True, bos_token=bos,
                               eos_token=eos)

    return render


def tokenizer_renderer(name: str) -> Callable[[list[dict[str, Any]]], str]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(name)

    def render(messages: list[dict[str, Any]]) -> str:
        return str(tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))

    return render


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="safethink-prefix-search", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-url", required=True, help="the upstream's OpenAI base URL (.../v1)")
    p.add_argument("--model", required=True)
    p.add_argument("--api-key", default=os.environ.get("SAFETHINK_EVAL_API_KEY"))
    p.add_argument("--reward-url", required=True, help="reward service base URL")
    p.add_argument("--prompts", required=True, help="JSONL, harmbench[:split], donotanswer")
    p.add_argument("--limit", type=int, help="use the first N prompts")
    p.add_argument("--candidates", type=Path, default=DEFAULT_POOL,
                   help="one candidate a line (default: the shipped pool)")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--chat-template", type=Path, help="the model's jinja chat template")
    group.add_argument("--tokenizer", help="tokenizer directory or cached hub id")
    p.add_argument("--bos-token", default="", help="with --chat-template")
    p.add_argument("--think-open", default="<think>\\n",
                   help="appended after the generation prompt (escapes allowed; '' for none)")
    p.add_argument("--think-close", default="</think>")
    p.add_argument("--k", type=int, default=8, help="samples per candidate and prompt")
    p.add_argument("--tau", type=float, default=0.0)
    p.add_argument("--trace-tokens", type=int, default=512)
    p.add_argument("--step-tokens", type=int, default=64)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--seed", default="0", help="sample j uses SEED+j; 'none' for no seed")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--objective", choices=OBJECTIVES, default="safety-first")
    p.add_argument("--kl-weight", type=float, default=0.1, help="with --objective weighted")
    p.add_argument("--request-timeout", type=float, default=300.0)
    p.add_argument("--out", type=Path, default=Path("prefix-out"))
    return p


def table(result: dict[str, Any]) -> str:
    def num(v: float | None, fmt: str) -> str:
        return "n/a" if v is None else fmt.format(v)

    lines = ["| rank | prefix | P(safe) | KL (nats/step) | samples |", "|---|---|---|---|---|"]
    for r in result["ranking"]:
        lines.append(f"| {r['rank']} | `{r['prefix']}` | {num(r['p_safe'], '{:.3f}')} | "
                     f"{num(r['kl'], '{:.3f}')} | {r['samples']} |")
    b = result["baseline"]
    lines.append(f"| - | (no prefix: unsteered) | {num(b['p_safe'], '{:.3f}')} | 0 | "
                 f"{b['samples']} |")
    return "\n".join(lines) + "\n"


def plot(result: dict[str, Any], path: Path) -> Path:
    """P(safe) against KL, one labelled point per candidate (bars when there is no KL)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["ranking"] if r["p_safe"] is not None]
    fig, ax = plt.subplots(figsize=(9.0, 4.4))
    try:
        fig.subplots_adjust(left=0.08, right=0.6, bottom=0.12, top=0.9)
        listing = "\n".join(f"{r['rank']}. {r['prefix'][:40]}" for r in rows[:25])
        fig.text(0.62, 0.9, listing, fontsize=7, va="top", family="monospace")
        if result["kl_available"]:
            points: dict[tuple[float, float], list[str]] = {}
            for r in rows:
                if r["kl"] is not None:
                    points.setdefault((round(r["kl"], 3), r["p_safe"]), []).append(
                        str(r["rank"]))
            for (kl, p_safe), ranks in points.items():
                ax.scatter(kl, p_safe, color="#c44e52" if "1" in ranks else "#4c72b0")
                ax.annotate(",".join(ranks), (kl, p_safe), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")
            if result["baseline"]["p_safe"] is not None:
                ax.axhline(result["baseline"]["p_safe"], linestyle="--", color="gray",
                           label="no prefix")
                ax.legend(fontsize=8)
            ax.set_xlabel("KL to the unsteered next step (nats, MC estimate)")
        else:
            ax.barh([str(r["rank"]) for r in rows], [r["p_safe"] for r in rows])
            ax.invert_yaxis()
            ax.set_ylabel("rank")
            ax.set_xlabel("P(safe) (no KL: the upstream returned no logprobs)")
        if result["kl_available"]:
            ax.set_ylabel("P(next step safe)")
        ax.set_title(f"steering-prefix search: {result['sites']} unsafe sites, k={result['k']}",
                     fontsize=10)
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


async def _main(args: argparse.Namespace) -> int:
    try:
        items = load_attack(args.prompts, args.limit)
    except DatasetError as exc:
        raise SystemExit(f"safethink-prefix-search: {exc}") from exc
    if args.chat_template is not None:
        render = template_renderer(args.chat_template.read_text(encoding="utf-8"),
                                   args.bos_token)
    else:
        render = tokenizer_renderer(args.tokenizer)
    cfg = SearchConfig(
        base_url=args.base_url, model=args.model, reward_url=args.reward_url, render=render,
        candidates=read_candidates(args.candidates), k=args.k, tau=args.tau,
        think_open=codecs.decode(args.think_open, "unicode_escape"),
        think_close=args.think_close, trace_tokens=args.trace_tokens,
        step_tokens=args.step_tokens, temperature=args.temperature,
        seed=None if args.seed == "none" else int(args.seed), concurrency=args.concurrency,
        objective=args.objective, kl_weight=args.kl_weight, api_key=args.api_key,
        request_timeout=args.request_timeout)
    print(f"safethink-prefix-search: {len(items)} prompts, {len(cfg.candidates)} candidates, "
          f"k={cfg.k}", file=sys.stderr)
    result = await search(cfg, items, lambda msg: print("  " + msg, file=sys.stderr))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "prefix_search.json").write_text(json.dumps(result, indent=2) + "\n",
                                                 encoding="utf-8")
    print(table(result))
    if result["best"] is None:
        print("No prompt reached an unsafe step: nothing to rank. Use more or harder prompts.")
        return 3
    plot(result, args.out / "prefix_search.png")
    if not result["kl_available"]:
        print("The upstream returned no prompt logprobs: ranked by P(safe) alone.")
    print(f"Best prefix under '{cfg.objective}': {result['best']!r}. Set it with:\n"
          f"  SAFETHINK_STEERING_PREFIX={shlex.quote(result['best'])}")
    return 0


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    require_extras("matplotlib")
    try:
        code = asyncio.run(_main(args))
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
