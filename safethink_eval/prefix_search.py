"""The paper's offline choice of the steering prefix, by Monte Carlo at the first unsafe step.

For each prompt x of the set:
1. The upstream writes an unsteered trace (``/v1/completions`` on the prompt rendered with the
   model's chat template plus the thinking opener). The trace is cut into steps at blank lines
   (the proxy's default delimiter) and scored cumulatively, R(x, y_1..y_t), by the reward service;
   the first step scoring below tau is the first unsafe step t. z = y_1..y_{t-1} is the accepted
   trace. A prompt with no unsafe step is skipped (counted as such).
2. For the empty prefix (the unsteered baseline) and for every candidate s, K continuations of the
   next step are sampled from x, z + s (cut at the next blank line or ``step_tokens``), and each
   is scored as R(x, z + s + y'). P(safe | s) is the share scoring at or above tau, over all sites.
3. Distribution shift, KL(pi(. | x, z) || pi(. | x, z, s)) over the next step, estimated by Monte
   Carlo over the K unsteered samples y_j ~ pi(. | x, z):

       KL_hat(s) = mean_j [ log pi(y_j | x, z) - log pi(y_j | x, z, s) ]

   Both log-probabilities are sums of token logprobs that the upstream returns for y_j's tokens
   when it is sent as part of the prompt (``echo: true, logprobs: 1, max_tokens: 1``): the context
   (x, z) or (x, z, s, then a space when neither side has one) followed by y_j; y_j's tokens are
   the last prompt tokens covering its characters (a token straddling the seam counts). The
   estimate is unbiased when the samples are drawn at temperature 1; it is per step (summed over
   its tokens), in nats. Servers that return no prompt logprobs (``transformers serve``) give no KL.
4. Ranking (``objective``): ``safety-first`` (default): higher P(safe) first, then lower KL, then
   the shorter prefix; ``weighted``: higher P(safe) - kl_weight * KL first.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from proxy.engine.steering import steering_lead

from . import client
from .datasets import Item

OBJECTIVES = ("safety-first", "weighted")


@dataclass
class SearchConfig:
    base_url: str
    model: str
    reward_url: str
    render: Callable[[list[dict[str, Any]]], str]  # messages -> prompt with generation prompt
    candidates: list[str]
    k: int = 8
    tau: float = 0.0
    think_open: str = "<think>\n"
    think_close: str = "</think>"
    delimiter: str = "\n\n"
    trace_tokens: int = 512
    step_tokens: int = 64
    temperature: float = 1.0
    seed: int | None = 0
    concurrency: int = 4
    objective: str = "safety-first"
    kl_weight: float = 0.1
    api_key: str | None = None
    request_timeout: float = 300.0


@dataclass
class Site:
    """The first unsafe step of one prompt."""

    item_id: str
    messages: list[dict[str, Any]]
    context: str  # the completions prompt: rendered request + opener + accepted trace z
    accepted: str  # z
    step: int  # 1-based index of the first unsafe step
    unsafe_step: str
    score: float
    baseline: list[str] = field(default_factory=list)  # unsteered next-step samples
    baseline_lp: list[float | None] = field(default_factory=list)


@dataclass
class CandidateResult:
    prefix: str
    samples: int = 0
    safe: int = 0
    kl_terms: list[float] = field(default_factory=list)

    @property
    def p_safe(self) -> float | None:
        return self.safe / self.samples if self.samples else None

    @property
    def kl(self) -> float | None:
        return sum(self.kl_terms) / len(self.kl_terms) if self.kl_terms else None

    def as_dict(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "samples": self.samples, "safe": self.safe,
                "p_safe": self.p_safe, "kl": self.kl, "kl_samples": len(self.kl_terms)}


def split_steps(trace: str, delimiter: str = "\n\n") -> list[str]:
    """Steps of a trace, each with its delimiter; empty steps dropped, the last may lack one."""
    parts = trace.split(delimiter)
    steps = [part + delimiter for part in parts[:-1]] + [parts[-1]]
    return [s for s in steps if s.strip()]


def first_step(text: str, delimiter: str, think_close: str) -> str:
    """The generated text up to the end of the step (the delimiter or the thinking's end)."""
    for stop in (delimiter, think_close):
        if stop and stop in text:
            text = text.split(stop, 1)[0]
    return text


def lead(prefix: str, accepted: str) -> str:
    """The candidate as the proxy puts it after the accepted steps (a space parting it from the
    text before and after it), so that the search samples what a steer would; empty: none."""
    return steering_lead(prefix, accepted) if prefix else ""


class Searcher:
    def __init__(self, cfg: SearchConfig, http: httpx.AsyncClient) -> None:
        self.cfg = cfg
        self.http = http
        self.gate = asyncio.Semaphore(max(1, cfg.concurrency))

    async def _complete(self, body: dict[str, Any]) -> client.Completion:
        async with self.gate:
            return await client.complete(self.http, self.cfg.base_url,
                                         {"model": self.cfg.model, **body})

    async def _score(self, messages: list[dict[str, Any]], traces: list[str]) -> list[float]:
        async with self.gate:
            return await client.score(self.http, self.cfg.reward_url,
                                      [{"prompt": messages, "trace": t} for t in traces])

    def _seeded(self, body: dict[str, Any], j: int) -> dict[str, Any]:
        return body if self.cfg.seed is None else {**body, "seed": self.cfg.seed + j}

    async def find_site(self, item: Item) -> Site | None:
        """Step 1: the first unsafe step of the unsteered trace, or None."""
        cfg = self.cfg
        messages = item.messages()
        prompt = cfg.render(messages)
        if cfg.think_open and not prompt.endswith(cfg.think_open):
            prompt += cfg.think_open
        out = await self._complete(self._seeded(
            {"prompt": prompt, "max_tokens": cfg.trace_tokens, "temperature": cfg.temperature},
            0))
        reasoning = out.text.split(cfg.think_close, 1)[0] if cfg.think_close else out.text
        steps = split_steps(reasoning, cfg.delimiter)
        if not steps:
            return None
        scores = await self._score(messages, ["".join(steps[: i + 1])
                                              for i in range(len(steps))])
        bad = next((i for i, s in enumerate(scores) if s < cfg.tau), None)
        if bad is None:
            return None
        accepted = "".join(steps[:bad])
        return Site(item.id, messages, prompt + accepted, accepted, bad + 1, steps[bad],
                    scores[bad])

    async def sample(self, site: Site, prefix: str) -> list[str]:
        """K next-step continuations after the prefix (the generated part only)."""
        cfg = self.cfg
        body = {"prompt": site.context + lead(prefix, site.accepted), "max_tokens": cfg.step_tokens,
                "temperature": cfg.temperature, "stop": [cfg.delimiter]}
        outs = await asyncio.gather(*(self._complete(self._seeded(body, j))
                                      for j in range(cfg.k)))
        return [first_step(o.text, cfg.delimiter, cfg.think_close) for o in outs]

    async def logprob(self, context: str, continuation: str) -> float | None:
        """log pi(continuation | context) from echoed prompt logprobs; None if unavailable."""
        if not continuation:
            return None
        out = await self._complete({"prompt": context + continuation, "max_tokens": 1,
                                    "temperature": 0, "echo": True, "logprobs": 1})
        if not out.tokens or len(out.tokens) != len(out.logprobs):
            return None
        generated = out.completion_tokens if out.completion_tokens is not None else 1
        prompt_tokens = list(zip(out.tokens, out.logprobs, strict=True))
        prompt_tokens = prompt_tokens[: max(0, len(prompt_tokens) - generated)]
        total, covered = 0.0, 0
        for token, lp in reversed(prompt_tokens):  # bounded by the prompt's tokens
            if lp is None or not math.isfinite(lp):
                return None
            total += lp
            covered += len(token)
            if covered >= len(continuation):
                return total
        return None

    async def evaluate(self, site: Site, prefix: str, result: CandidateResult) -> None:
        """Step 2 and 3 for one candidate at one site (the baseline is sampled before)."""
        generated = await self.sample(site, prefix)
        head = site.accepted + lead(prefix, site.accepted)
        scores = await self._score(site.messages, [head + g for g in generated])
        result.samples += len(scores)
        result.safe += sum(s >= self.cfg.tau for s in scores)
        if not prefix:
            site.baseline = generated
            site.baseline_lp = list(await asyncio.gather(
                *(self.logprob(site.context, y) for y in generated)))
            return
        context = site.context + lead(prefix, site.accepted)
        steered = await asyncio.gather(*(self.logprob(context, y) for y in site.baseline))
        for lp0, lp in zip(site.baseline_lp, steered, strict=True):
            if lp0 is not None and lp is not None:
                result.kl_terms.append(lp0 - lp)


def rank(results: list[CandidateResult], objective: str,
         kl_weight: float) -> list[CandidateResult]:
    """The candidates, best first, by the objective (see the module docstring)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}")

    def key(r: CandidateResult) -> tuple[float, ...]:
        p = r.p_safe if r.p_safe is not None else -1.0
        kl = r.kl if r.kl is not None else math.inf
        if objective == "weighted":
            value = p - kl_weight * (r.kl if r.kl is not None else 0.0)
            return (-value, kl, len(r.prefix))
        return (-round(p, 9), kl, len(r.prefix))

    return sorted(results, key=key)


async def search(cfg: SearchConfig, items: list[Item],
                 progress: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Run the search; the result is what the CLI writes as JSON."""
    timeout = httpx.Timeout(cfg.request_timeout, connect=10.0)
    headers = {"Authorization": f"Bearer {cfg.api_key}"} if cfg.api_key else None
    async with httpx.AsyncClient(timeout=timeout, headers=headers) as http:
        searcher = Searcher(cfg, http)
        sites: list[Site] = []
        skipped: list[str] = []
        for item in items:  # bounded by the prompt set
            site = await searcher.find_site(item)
            (skipped.append(item.id) if site is None else sites.append(site))
            if progress is not None:
                progress(f"{item.id}: " + ("no unsafe step" if site is None
                                           else f"first unsafe step {site.step}"))
        baseline = CandidateResult("")
        results = [CandidateResult(c) for c in cfg.candidates]
        for site in sites:
            await searcher.evaluate(site, "", baseline)
            await asyncio.gather(*(searcher.evaluate(site, r.prefix, r) for r in results))
            if progress is not None:
                progress(f"{site.item_id}: {len(results)} candidates x {cfg.k} samples scored")
    ranking = rank(results, cfg.objective, cfg.kl_weight)
    return {
        "objective": cfg.objective, "kl_weight": cfg.kl_weight, "k": cfg.k, "tau": cfg.tau,
        "prompts": len(items), "sites": len(sites), "skipped_no_unsafe_step": skipped,
        "site_details": [{"id": s.item_id, "step": s.step, "score": s.score} for s in sites],
        "baseline": baseline.as_dict(),
        "ranking": [r.as_dict() | {"rank": n + 1} for n, r in enumerate(ranking)],
        "best": ranking[0].prefix if ranking and sites else None,
        "kl_available": any(r.kl is not None for r in results),
    }
