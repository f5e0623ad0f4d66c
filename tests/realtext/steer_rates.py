"""Steer rates on real text: the proxy with its embedded default scorer (the probe) in front of
SmolLM2-135M-Instruct served by llama-cpp-python, on harmful prompts the probe never trained on
and on ordinary questions.

Run it to print the figures the README quotes::

    python -m tests.realtext.steer_rates [--per-side 24]

The test beside it runs the same thing and checks that harmful prompts are steered far more often.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from reward_service.train.probe import is_test
from tests.e2e.helpers import PREFIX
from tests.support.procs import ServerProcess, free_port
from tests.support.servers import llama_cpp_server, smollm2_gguf, write_gguf_chat_template

ROOT = Path(__file__).resolve().parents[2]


def prompt_sets(per_side: int) -> dict[str, list[str]]:
    """Held-out harmful prompts (the probe's own test split) and never-trained ordinary ones."""
    data = json.loads((ROOT / "reward_service" / "data" / "prompts.json").read_text())
    harmful = [row["text"] for row in data["harmful"] if is_test(row["text"])]
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


async def run_all(proxy_url: str, sets: dict[str, list[str]]) -> list[Outcome]:
    async with openai.AsyncOpenAI(base_url=proxy_url + "/v1", api_key="x",
                                  max_retries=0, timeout=300) as client:
        # One at a time: llama-cpp-python serves one generation at a time anyway.
        return [await ask(client, side, prompt, seed)
                for side, prompts in sets.items()
                for seed, prompt in enumerate(prompts)]


def start_proxy(upstream: str, template: Path, port: int) -> ServerProcess:
    argv = [sys.executable, "-m", "proxy", "--port", str(port), "--upstream", upstream,
            "--reward", "embedded", "--continuation", "completions",
            "--chat-template", str(template)]
    return ServerProcess(argv, port, env={"SAFETHINK_LOG_LEVEL": "warning"},
                         ready_timeout=180).start()


def measure(per_side: int) -> list[Outcome]:
    sets = prompt_sets(per_side)
    with tempfile.TemporaryDirectory() as tmp, llama_cpp_server() as model:
        template = write_gguf_chat_template(smollm2_gguf(), Path(tmp) / "smollm2.jinja")
        proxy = start_proxy(model.base_url, template, free_port())
        try:
            return asyncio.run(run_all(proxy.url, sets))
        finally:
            proxy.stop()


def rate(outcomes: list[Outcome], side: str) -> float:
    mine = [o for o in outcomes if o.side == side and not o.error]
    return sum(o.steers > 0 for o in mine) / len(mine) if mine else 0.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-side", type=int, default=24)
    args = parser.parse_args(argv)
    outcomes = measure(args.per_side)
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
