"""Steer rates on real text: the proxy with its embedded default scorer (the cross-encoder) in
front of SmolLM2-135M-Instruct served by llama-cpp-python, on harmful prompts the scorer never
trained on (its test split) and on ordinary questions it never saw.

Run it to print the figures the README quotes::

    python -m tests.realtext.steer_rates [--per-side 24]

With ``--ttft`` it streams the same prompts instead, through three proxies one after the other
on the one model server (policy none; safethink with step release; safethink with sentence
release), and prints per setting the time to the first reasoning or content character, the
time each adds over policy none, and the steer rates (from the final chunk's ``safethink``
report)::

    python -m tests.realtext.steer_rates --ttft [--per-side 24]

The test beside it runs the non-streaming measure and checks that harmful prompts are steered
far more often.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai

from reward_service.train.dataset import split_of
from tests.e2e.helpers import PREFIX
from tests.support.procs import ServerProcess, free_port
from tests.support.servers import llama_cpp_server, smollm2_gguf, write_gguf_chat_template

ROOT = Path(__file__).resolve().parents[2]
# The streamed settings, measured in this order: (name, policy, SAFETHINK_RELEASE).
SETTINGS = (("none", "none", None), ("step", "safethink", "step"),
            ("sentence", "safethink", "sentence"))


def prompt_sets(per_side: int) -> dict[str, list[str]]:
    """Held-out harmful prompts (the scorer's own test split) and never-trained ordinary ones."""
    data = json.loads((ROOT / "reward_service" / "data" / "prompts.json").read_text())
    harmful = [row["text"] for row in data["harmful"] if split_of(row["text"]) == "test"]
    ordinary = [row["text"] for row in data["ordinary_heldout"]]
    return {"harmful": harmful[:per_side], "benign": ordinary[:per_side]}


@dataclass
class Outcome:
    side: str
    prompt: str
    steers: int = 0
    recovered: int = 0
    text: str = ""
    error: str = ""
    scores: list[float] = field(default_factory=list)
    ttft_s: float | None = None  # streamed: to the first reasoning or content character

    @property
    def after_prefix(self) -> str:
        return self.text.split(PREFIX, 1)[1].strip() if PREFIX in self.text else ""


async def ask(client: openai.AsyncOpenAI, side: str, prompt: str, seed: int) -> Outcome:
    outcome = Outcome(side, prompt)
    try:
        completion = await client.chat.completions.create(
            model="smollm2", messages=[{"role": "user", "content": prompt}], max_tokens=64,
            temperature=0.8, seed=seed)
    except openai.APIError as exc:
        outcome.error = str(exc)
        return outcome
    report: dict[str, Any] = (completion.model_extra or {}).get("safethink") or {}
    outcome.steers = int(report.get("steers", 0))
    outcome.recovered = int(report.get("recovered", 0))
    outcome.scores = list(report.get("scores", []))
    outcome.text = completion.choices[0].message.content or ""
    return outcome


async def ask_streaming(client: openai.AsyncOpenAI, side: str, prompt: str,
                        seed: int) -> Outcome:
    """The same question streamed: the time to its first text, and the final chunk's report."""
    outcome = Outcome(side, prompt)
    report: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        stream = await client.chat.completions.create(
            model="smollm2", messages=[{"role": "user", "content": prompt}], max_tokens=64,
            temperature=0.8, seed=seed, stream=True)
        async with stream:
            async for chunk in stream:
                report = (chunk.model_extra or {}).get("safethink") or report
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta
                extra = delta.model_extra or {}
                text = str(extra.get("reasoning_content") or extra.get("reasoning") or "")
                text += delta.content or ""
                if text and outcome.ttft_s is None:
                    outcome.ttft_s = time.perf_counter() - started
                outcome.text += text
    except (openai.APIError, httpx.HTTPError) as exc:
        outcome.error = f"{exc.__class__.__name__}: {exc}"
        return outcome
    if outcome.ttft_s is None:
        outcome.error = "no text in the stream"
    outcome.steers = int(report.get("steers", 0))
    outcome.recovered = int(report.get("recovered", 0))
    outcome.scores = list(report.get("scores", []))
    return outcome


async def run_all(proxy_url: str, sets: dict[str, list[str]],
                  stream: bool = False) -> list[Outcome]:
    one = ask_streaming if stream else ask
    async with openai.AsyncOpenAI(base_url=proxy_url + "/v1", api_key="x",
                                  max_retries=0, timeout=300) as client:
        if stream:  # unmeasured: first-call costs (the scorer's, the model server's) fall here
            await one(client, "warm-up", "Say hello.", 0)
        # One at a time: llama-cpp-python serves one generation at a time anyway.
        return [await one(client, side, prompt, seed)
                for side, prompts in sets.items()
                for seed, prompt in enumerate(prompts)]


def start_proxy(upstream: str, template: Path, port: int, policy: str = "safethink",
                release: str | None = None) -> ServerProcess:
    """The proxy with the embedded scorer; ``release`` unset leaves the proxy's default."""
    argv = [sys.executable, "-m", "proxy", "--port", str(port), "--upstream", upstream,
            "--reward", "embedded", "--continuation", "completions",
            "--chat-template", str(template), "--policy", policy]
    env = {"SAFETHINK_LOG_LEVEL": "warning", **({"SAFETHINK_RELEASE": release} if release else {})}
    return ServerProcess(argv, port, env=env, ready_timeout=180).start()


def measure(per_side: int) -> list[Outcome]:
    """Every prompt asked once, not streamed, through the proxy with its default settings."""
    return measure_settings(per_side, (("default", "safethink", None),), stream=False)["default"]


def measure_ttft(per_side: int) -> dict[str, list[Outcome]]:
    """Every prompt streamed through each of ``SETTINGS``, one setting after the other."""
    return measure_settings(per_side, SETTINGS, stream=True)


def measure_settings(per_side: int, settings: tuple[tuple[str, str, str | None], ...],
                     stream: bool) -> dict[str, list[Outcome]]:
    sets = prompt_sets(per_side)
    out: dict[str, list[Outcome]] = {}
    with tempfile.TemporaryDirectory() as tmp, llama_cpp_server() as model:
        template = write_gguf_chat_template(smollm2_gguf(), Path(tmp) / "smollm2.jinja")
        for name, policy, release in settings:
            proxy = start_proxy(model.base_url, template, free_port(), policy, release)
            try:
                out[name] = asyncio.run(run_all(proxy.url, sets, stream))
            finally:
                proxy.stop()
    return out


def rate(outcomes: list[Outcome], side: str) -> float:
    mine = [o for o in outcomes if o.side == side and not o.error]
    return sum(o.steers > 0 for o in mine) / len(mine) if mine else 0.0


def ttft_table(results: dict[str, list[Outcome]]) -> list[str]:
    """Per setting: median TTFT, the median over prompts of its TTFT minus policy none's for
    the same prompt (the prompts and seeds are the same in every setting), all and per side
    (a steered harmful answer's first text may come after a re-issue), the steer rates."""
    none = {(o.side, o.prompt): o.ttft_s for o in results.get("none", [])
            if o.ttft_s is not None and not o.error}
    lines = [f"{'setting':<9} {'n':>3} {'errors':>6} {'ttft med ms':>11} {'+over none ms':>13}"
             f" {'+harmful':>8} {'+benign':>8} {'steered harmful':>15} {'steered benign':>14}"]
    for name, outcomes in results.items():
        done = [o for o in outcomes if o.ttft_s is not None and not o.error]
        added = [(o.side, (o.ttft_s - base) * 1e3) for o in done
                 if o.ttft_s is not None and (base := none.get((o.side, o.prompt))) is not None]
        lines.append(
            f"{name:<9} {len(outcomes):>3} {sum(bool(o.error) for o in outcomes):>6}"
            f" {_med([(o.ttft_s or 0.0) * 1e3 for o in done]):>11}"
            f" {_med([v for _, v in added]):>13}"
            f" {_med([v for side, v in added if side == 'harmful']):>8}"
            f" {_med([v for side, v in added if side == 'benign']):>8}"
            f" {rate(outcomes, 'harmful'):>15.0%} {rate(outcomes, 'benign'):>14.0%}")
    return lines


def _med(values: list[float]) -> str:
    return f"{statistics.median(values):.1f}" if values else "-"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-side", type=int, default=24)
    parser.add_argument("--ttft", action="store_true",
                        help="stream through policy none, step and sentence release; print TTFT")
    args = parser.parse_args(argv)
    if args.ttft:
        results = measure_ttft(args.per_side)
        print("\n".join(ttft_table(results)))
        for name, outcomes in results.items():
            for error in sorted({o.error for o in outcomes if o.error})[:3]:
                print(f"  {name}: ! {error[:200]}")
        print("\nsentence release:")
        print_steers(results["sentence"])
    else:
        print_steers(measure(args.per_side))


def print_steers(outcomes: list[Outcome]) -> None:
    for side in ("harmful", "benign"):
        mine = [o for o in outcomes if o.side == side]
        errors = sum(bool(o.error) for o in mine)
        steers = sum(o.steers for o in mine)
        recovered = sum(o.recovered for o in mine)
        print(f"{side:8} prompts {len(mine):3}  errors {errors}  steered {rate(outcomes, side):.0%}"
              f"  steers {steers}  recovered {recovered}")
    print("\nWhat the model wrote after the prefix (first harmful examples):")
    for o in [o for o in outcomes if o.side == "harmful" and o.after_prefix][:6]:
        print(f"- {o.prompt[:70]!r}\n    -> {o.after_prefix[:200]!r}")


if __name__ == "__main__":
    main()
