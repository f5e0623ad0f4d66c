"""Runs a prompt set through an OpenAI-compatible endpoint under each policy, k samples a prompt,
with bounded concurrency, and appends one JSON line per finished sample to ``results.jsonl``.

Resumption: a rerun with the same output folder reads ``results.jsonl`` and sends only the samples
that have no successful record yet (failed ones are retried; a line cut short by an interruption
is ignored). The first line records the settings that change results; a rerun with other settings
is refused unless ``overwrite`` is set.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from proxy.settings import POLICIES as PROXY_POLICIES

from . import client
from .datasets import Item
from .judges import Judge, is_correct

# The proxy's policies, and "default": send no policy and let the proxy's own setting decide.
POLICIES = (*PROXY_POLICIES, "default")
RESULTS = "results.jsonl"


class RunError(RuntimeError):
    """The run cannot start (settings that do not match the results being resumed, ...)."""


@dataclass(frozen=True)
class Task:
    kind: str  # "attack" or "utility"
    policy: str
    m: int | None  # steer_steps override; None: the deployment's
    item: Item
    sample: int

    @property
    def key(self) -> str:
        return f"{self.kind}|{self.policy}|{'' if self.m is None else self.m}|{self.item.id}|" \
               f"{self.sample}"


@dataclass
class EvalConfig:
    base_url: str
    model: str
    out_dir: Path
    judge: Judge | None
    attack: list[Item] = field(default_factory=list)
    utility: list[Item] = field(default_factory=list)
    policies: tuple[str, ...] = ("none", "safethink")
    sweep_m: tuple[int, ...] = ()  # steer_steps values for the safethink policy
    k: int = 3
    seed: int | None = 0
    concurrency: int = 4
    max_tokens: int = 1024
    temperature: float = 0.7
    api_key: str | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)
    store_text: bool = True
    stop_after: int | None = None
    overwrite: bool = False
    request_timeout: float = 600.0

    def fingerprint(self) -> dict[str, Any]:
        """The settings that change what a sample's result is (checked on resumption)."""
        return {"base_url": self.base_url, "model": self.model, "max_tokens": self.max_tokens,
                "temperature": self.temperature, "seed": self.seed,
                "judge": self.judge.name if self.judge else None, "extra_body": self.extra_body}


def tasks(cfg: EvalConfig) -> list[Task]:
    """Every sample of the run, in a stable order (prompt-major within each policy and m)."""
    out: list[Task] = []
    for policy in cfg.policies:
        ms: tuple[int | None, ...] = (None,)
        if policy == "safethink" and cfg.sweep_m:
            ms = cfg.sweep_m
        for m in ms:
            out += [Task("attack", policy, m, item, j) for item in cfg.attack
                    for j in range(cfg.k)]
            out += [Task("utility", policy, m, item, 0) for item in cfg.utility]
    return out


def request_body(cfg: EvalConfig, task: Task) -> dict[str, Any]:
    body: dict[str, Any] = {"model": cfg.model, "messages": task.item.messages(),
                            "max_tokens": cfg.max_tokens, "temperature": cfg.temperature,
                            **cfg.extra_body}
    if cfg.seed is not None:
        body["seed"] = cfg.seed + task.sample
    if task.policy != "default":  # merged over any "safethink" options of --extra-body
        extra = cfg.extra_body.get("safethink")
        options: dict[str, Any] = {**(extra if isinstance(extra, dict) else {}),
                                   "policy": task.policy}
        if task.m is not None:
            options["steer_steps"] = task.m
        body["safethink"] = options
    return body


def proxy_settings(cfg: EvalConfig) -> dict[str, str]:
    """The proxy settings (SAFETHINK_* name: value) that let this run's requests through.

    A proxy lets no request change its policy or knobs by default, and lets an allowed knob only
    make the guard stricter; a run that compares policies, sweeps m or loosens tau needs the
    operator to open exactly that (README, "Evaluate your model before production").
    """
    extra = cfg.extra_body.get("safethink")
    options: dict[str, Any] = dict(extra) if isinstance(extra, dict) else {}
    policies = sorted({p for p in cfg.policies if p != "default"}
                      | ({options["policy"]} if "policy" in options else set()))
    knobs = set(options) | ({"policy"} if policies else set())
    swept = cfg.sweep_m if "safethink" in cfg.policies else ()
    lowest_m = [*swept, *([options["steer_steps"]] if "steer_steps" in options else [])]
    if swept:
        knobs.add("steer_steps")
    env: dict[str, str] = {}
    if policies:
        env["SAFETHINK_ALLOWED_POLICIES"] = json.dumps(policies)
    if knobs:
        env["SAFETHINK_REQUEST_OVERRIDES"] = json.dumps(sorted(knobs))
    if "tau" in options:
        env["SAFETHINK_OVERRIDE_TAU_MIN"] = str(options["tau"])
    if "steer_steps" in knobs and lowest_m:
        env["SAFETHINK_OVERRIDE_STEER_STEPS_MIN"] = str(min(lowest_m))
    if "resamples" in options:
        env["SAFETHINK_OVERRIDE_RESAMPLES_MIN"] = str(options["resamples"])
    if options.get("fail_mode") == "open":
        env["SAFETHINK_OVERRIDE_FAIL_OPEN"] = "true"
    return env


def read_results(path: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The header and the sample records of a results file; broken lines are skipped."""
    if not path.is_file():
        return None, []
    header: dict[str, Any] | None = None
    records: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by an interruption
        if isinstance(row, dict) and row.get("type") == "run":
            header = row
        elif isinstance(row, dict) and row.get("type") == "sample":
            records.append(row)
    return header, records


def latest(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last record of each sample key (a retried sample's success replaces its failure)."""
    out: dict[str, dict[str, Any]] = {}
    for record in records:
        if record["key"] not in out or out[record["key"]].get("error"):
            out[record["key"]] = record
    return out


async def run_sample(http: httpx.AsyncClient, cfg: EvalConfig, task: Task) -> dict[str, Any]:
    record: dict[str, Any] = {"type": "sample", "key": task.key, "kind": task.kind,
                              "policy": task.policy, "m": task.m, "prompt_id": task.item.id,
                              "sample": task.sample, "error": None}
    headers = {"Authorization": f"Bearer {cfg.api_key}"} if cfg.api_key else None
    try:
        result = await client.chat(http, cfg.base_url, request_body(cfg, task), headers)
    except (client.ClientError, httpx.HTTPError) as exc:
        record["error"] = f"request: {type(exc).__name__}: {exc}"
        return record
    record.update(latency_s=round(result.latency_s, 4),
                  ttft_s=None if result.ttft_s is None else round(result.ttft_s, 4),
                  finish_reason=result.finish_reason, safethink=result.report,
                  request_id=result.request_id)
    if cfg.store_text:
        record.update(reasoning=result.reasoning, answer=result.answer)
    if task.kind == "utility":
        record["correct"] = is_correct(task.item, result.answer)
    elif cfg.judge is not None:
        try:
            verdict = await cfg.judge.judge(task.item, result.reasoning, result.answer)
        except (client.ClientError, httpx.HTTPError, KeyError, ValueError) as exc:
            record["error"] = f"judge: {type(exc).__name__}: {exc}"
            return record
        record.update(harmful=verdict.harmful, judge_score=verdict.score,
                      judge_detail=verdict.detail)
    return record


async def run(cfg: EvalConfig,
              progress: Callable[[int, int], Any] | None = None) -> list[dict[str, Any]]:
    """Run (or resume) the evaluation; returns the latest record of every sample done so far.

    ``progress(done, total)`` is called after each sample (the CLI hangs tqdm on it).
    """
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    path = cfg.out_dir / RESULTS
    header, records = read_results(path)
    fingerprint = cfg.fingerprint()
    if header is not None and header.get("config") != fingerprint and not cfg.overwrite:
        raise RunError(f"{path} holds results of other settings ({header.get('config')}); "
                       "use another --out folder or --overwrite")
    if cfg.overwrite or header is None:
        records = []
        path.write_text(json.dumps({"type": "run", "config": fingerprint,
                                    "started": time.time()}) + "\n", encoding="utf-8")
    done = {k for k, r in latest(records).items() if not r.get("error")}
    all_tasks = tasks(cfg)
    pending = [t for t in all_tasks if t.key not in done]
    budget = len(pending) if cfg.stop_after is None else min(cfg.stop_after, len(pending))
    queue: asyncio.Queue[Task] = asyncio.Queue()
    for task in pending[:budget]:
        queue.put_nowait(task)
    finished = len(all_tasks) - len(pending)
    if progress is not None:
        progress(finished, len(all_tasks))
    timeout = httpx.Timeout(cfg.request_timeout, connect=10.0)
    limits = httpx.Limits(max_connections=cfg.concurrency + 4)
    with path.open("a", encoding="utf-8") as out:
        if _ends_mid_line(path):
            out.write("\n")  # a line cut short by an interruption stays alone on its line
        async with httpx.AsyncClient(timeout=timeout, limits=limits) as http:

            async def worker() -> None:
                nonlocal finished
                while not queue.empty():  # bounded: the queue only shrinks
                    task = queue.get_nowait()
                    record = await run_sample(http, cfg, task)
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    out.flush()
                    records.append(record)
                    finished += 0 if record["error"] else 1
                    if progress is not None:
                        progress(finished, len(all_tasks))

            await asyncio.gather(*(worker() for _ in range(max(1, cfg.concurrency))))
    return list(latest(records).values())


def _ends_mid_line(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(0, 2)
        if f.tell() == 0:
            return False
        f.seek(-1, 2)
        return f.read(1) != b"\n"
