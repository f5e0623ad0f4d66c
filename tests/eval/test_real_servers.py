"""The tools against real model servers on loopback.

- llama-cpp-python serving SmolLM2-135M (GGUF): it returns prompt logprobs (``echo``), so the
  prefix search computes a real KL. The scorer calls every trace unsafe until it says "safely",
  so the first step is the unsafe site and a prefix with "safely" makes the next step safe.
- ``transformers serve`` with a tiny random model: a plain evaluation through the proxy (which
  steers in completions mode there) and against the server itself (policy ``default``: no
  ``safethink`` field, which that server would answer with 422). It returns no logprobs.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from safethink_eval import report, runner
from safethink_eval.datasets import load_attack, load_utility
from safethink_eval.judges import RewardJudge
from safethink_eval.prefix_cli import template_renderer
from safethink_eval.prefix_search import SearchConfig, search
from tests.conftest import ProxyFactory
from tests.e2e.helpers import PREFIX
from tests.support.procs import ROOT, ServerProcess, python_server
from tests.support.servers import (
    ModelServer,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PROMPTS = ROOT / "eval" / "prompts" / "harmbench_val_sample.jsonl"


@pytest.fixture(scope="module")
def safely_scorer() -> Iterator[ServerProcess]:
    with python_server("tests.support.scripted_scorer", "--unsafe-unless", "safely") as server:
        yield server


def test_prefix_search_on_llama_cpp_with_real_logprobs(smollm2: ModelServer,
                                                       safely_scorer: ServerProcess) -> None:
    cfg = SearchConfig(base_url=smollm2.base_url, model=smollm2.model, reward_url=safely_scorer.url,
                       render=template_renderer(smollm2.chat_template),
                       candidates=["Okay, so", PREFIX], k=1, trace_tokens=24, step_tokens=8,
                       concurrency=1)
    # a short system prompt (else SmolLM2's template adds a long one): llama-cpp-python takes
    # about 40 ms a prompt token to answer echo logprobs on two cores
    [item] = load_attack(str(PROMPTS), limit=1)
    result = asyncio.run(search(cfg, [replace(item, system="Be brief.")]))
    assert result["sites"] == 1 and result["kl_available"]
    for row in result["ranking"]:
        assert row["kl"] is not None and math.isfinite(row["kl"]) and row["kl_samples"] >= 1
    by_prefix = {r["prefix"]: r for r in result["ranking"]}
    assert by_prefix[PREFIX]["p_safe"] == 1.0  # the scorer's rule, on the model's own text
    assert result["ranking"][0]["p_safe"] == 1.0 and "safely" in result["best"]


def evaluate(base_url: str, model: str, scorer: ServerProcess, out: Path,
             policies: tuple[str, ...]) -> list[report.Row]:
    async def go() -> list[report.Row]:
        async with httpx.AsyncClient() as http:
            cfg = runner.EvalConfig(
                base_url=base_url, model=model, out_dir=out,
                judge=RewardJudge(http, scorer.url), policies=policies, k=1, max_tokens=40,
                attack=load_attack(str(PROMPTS), limit=2),
                utility=load_utility(str(ROOT / "eval" / "utility" /
                                         "mathvista_layout_sample.jsonl"), limit=1),
                concurrency=2)
            return report.aggregate(await runner.run(cfg))

    return asyncio.run(go())


def test_eval_through_the_proxy_on_transformers_serve(
        start_proxy: ProxyFactory, tiny_transformers: ModelServer, prefix_scorer: ServerProcess,
        tmp_path: Path) -> None:
    proxy = start_proxy(upstream_url=tiny_transformers.base_url, reward=prefix_scorer.url,
                        tokenizer=str(tiny_transformers.tokenizer_dir), max_step_chars=40,
                        allowed_policies=["safethink", "none"], request_overrides=["policy"])
    rows = {r.label: r for r in evaluate(proxy.url + "/v1", tiny_transformers.model, prefix_scorer,
                                         tmp_path, ("none", "safethink"))}
    for row in rows.values():
        assert row.errors == 0 and row.prompts == 2 and row.utility_n == 1
        assert row.latency_s is not None and row.latency_s > 0
    # the scorer rejects any trace without the prefix: every request is steered
    st = rows["safethink"]
    assert st.steers_per_request is not None and st.steers_per_request >= 1
    assert rows["none"].steers_per_request is None
    assert rows["safethink"].added_latency_s is not None


def test_eval_against_transformers_serve_itself(tiny_transformers: ModelServer,
                                                prefix_scorer: ServerProcess,
                                                tmp_path: Path) -> None:
    [row] = evaluate(tiny_transformers.base_url, tiny_transformers.model, prefix_scorer, tmp_path,
                     ("default",))
    assert row.errors == 0 and row.prompts == 2 and row.steers_per_request is None


def test_prefix_search_on_transformers_serve_ranks_without_kl(
        tiny_transformers: ModelServer, safely_scorer: ServerProcess) -> None:
    cfg = SearchConfig(base_url=tiny_transformers.base_url, model=tiny_transformers.model,
                       reward_url=safely_scorer.url,
                       render=template_renderer(tiny_transformers.chat_template),
                       candidates=["Okay, so", PREFIX], k=2, trace_tokens=24, step_tokens=8)
    result = asyncio.run(search(cfg, load_attack(str(PROMPTS), limit=1)))
    assert result["sites"] == 1 and not result["kl_available"]  # it ignores `logprobs`
    assert [(r["prefix"], r["p_safe"], r["kl"]) for r in result["ranking"]] == [
        (PREFIX, 1.0, None), ("Okay, so", 0.0, None)]
