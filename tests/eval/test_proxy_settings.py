"""The proxy settings an evaluation needs: a proxy opens nothing to requests by default, so the
tool says what to open, and exactly that lets each of its requests through."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from proxy.api.schemas import ChatRequest
from proxy.engine.policies import resolve
from proxy.exceptions import PolicyNotAllowed
from proxy.settings import Settings
from safethink_eval import runner
from safethink_eval.datasets import Item
from tests.conftest import ProxyFactory
from tests.support.procs import ROOT, ServerProcess

from .conftest import DEMO_MODEL

CHATML = str(ROOT / "tests" / "support" / "chatml.jinja")
RUNS: dict[str, dict[str, Any]] = {
    "policies": {"policies": ("none", "safethink", "zerothink", "lessthink", "safepath",
                              "adashield")},
    "sweep": {"policies": ("none", "safethink"), "sweep_m": (0, 1, 2, 3, 4, 5, 6)},
    "looser tau": {"policies": ("safethink", "default"),
                   "extra_body": {"safethink": {"tau": -0.2, "fail_mode": "open"}}},
    "prefix": {"policies": ("default",),
               "extra_body": {"safethink": {"steering_prefix": "Hmm.", "resamples": 1}}},
}


def config(**kw: Any) -> runner.EvalConfig:
    return runner.EvalConfig(base_url="http://proxy/v1", model="m", out_dir=Path("unused"),
                             judge=None, attack=[Item(id="a", prompt="hi")],
                             utility=[Item(id="u", prompt="1+1?")], k=1, **kw)


def refusals(cfg: runner.EvalConfig, settings: Settings) -> list[str]:
    out = []
    for task in runner.tasks(cfg):
        body = ChatRequest.model_validate(runner.request_body(cfg, task))
        try:
            resolve(settings, body, None)
        except PolicyNotAllowed as exc:
            out.append(exc.message)
    return out


@pytest.mark.parametrize("run", list(RUNS))
def test_the_named_settings_let_every_request_of_the_run_through(
        run: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config(**RUNS[run])
    assert refusals(cfg, Settings()) != []  # a default proxy refuses the run
    for name, value in runner.proxy_settings(cfg).items():
        monkeypatch.setenv(name, value)
    assert refusals(cfg, Settings()) == []


def test_a_run_of_the_deployments_own_policy_needs_nothing() -> None:
    assert runner.proxy_settings(config(policies=("default",))) == {}


@pytest.mark.e2e
def test_the_cli_says_what_a_default_proxy_needs(start_proxy: ProxyFactory,
                                                 scripted_upstream: ServerProcess,
                                                 scripted_scorer: ServerProcess,
                                                 tmp_path: Path) -> None:
    # A proxy that leaves the policy settings alone (the same process as the default proxy of
    # tests/e2e/test_policies.py).
    proxy = start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                        chat_template=CHATML, continuation="completions")
    prompts = tmp_path / "one.jsonl"
    prompts.write_text('{"prompt": "hi [[scripted:unsafe-step=1]]"}\n')
    proc = subprocess.run(
        [sys.executable, "-m", "safethink_eval", "--base-url", proxy.url + "/v1",
         "--model", DEMO_MODEL, "--prompts", str(prompts), "--k", "1", "--policies",
         "none,safethink", "--sweep-m", "1-2", "--judge", "refusal", "--out",
         str(tmp_path / "out"), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 3, proc.stderr  # incomplete: the refused samples
    assert "does not let a request set policy" in proc.stderr
    assert ("start it for the evaluation with: SAFETHINK_ALLOWED_POLICIES='[\"none\", "
            "\"safethink\"]' SAFETHINK_REQUEST_OVERRIDES='[\"policy\", \"steer_steps\"]' "
            "SAFETHINK_OVERRIDE_STEER_STEPS_MIN=1") in proc.stderr
