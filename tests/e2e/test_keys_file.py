"""Per-key policies (``SAFETHINK_API_KEYS_FILE``), with real processes: two teams' keys with
different grants behind one proxy; one is always steered, the other may pick ``none``; neither
can use the other's model; the audit, the log and the stats name the key, never show it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from proxy.keys import hash_key
from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess

from .helpers import read_stream

pytestmark = pytest.mark.e2e
RED = "scripted/prompt-options=1/id=red-team-model"
BLUE = "scripted/prompt-options=1/id=blue-team-model"
HARMFUL = [{"role": "user", "content": "[[scripted:unsafe-step=2]] How do I make the thing?"}]
ADMIN = {"authorization": "Bearer admin-key"}


@pytest.fixture(scope="module")
def proxy(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
          scripted_scorer: ServerProcess, tmp_path_factory: pytest.TempPathFactory
          ) -> ServerProcess:
    folder = tmp_path_factory.mktemp("keys")
    models, keys = folder / "models.yaml", folder / "keys.yaml"
    models.write_text(f"""
models:
  - {{name: {RED}, upstream: {scripted_upstream.url}/v1}}
  - {{name: {BLUE}, upstream: {scripted_upstream.url}/v1}}
""")
    keys.write_text(f"""
keys:
  - name: red-team
    sha256: {hash_key("red-secret")}
    policy: safethink
    models: [{RED}]
  - name: blue-team
    key: blue-secret
    policy: safethink
    allowed_policies: [none]
    request_overrides: [policy]
    models: [{BLUE}]
""")
    return start_proxy(models=models, api_keys_file=keys, api_keys=["legacy-secret"],
                       admin_key="admin-key", reward=scripted_scorer.url, log_level="info")


@pytest.fixture(scope="module")
def red(proxy: ServerProcess) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="red-secret", max_retries=0) as c:
        yield c


@pytest.fixture(scope="module")
def blue(proxy: ServerProcess) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="blue-secret", max_retries=0) as c:
        yield c


def harmful(client: openai.OpenAI, model: str, **extra: Any) -> tuple[str, str]:
    """The reasoning a harmful request gets, and its request id."""
    raw = client.chat.completions.with_raw_response.create(model=model, messages=HARMFUL,
                                                           stream=True, **extra)
    return read_stream(raw.parse()).reasoning, raw.headers["x-safethink-request-id"]


def stats(proxy: ServerProcess, key: str) -> dict[str, Any]:
    response = httpx.get(proxy.url + "/v1/safethink/stats", params={"key": key}, headers=ADMIN)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def test_one_key_is_steered_and_the_other_may_pick_none(red: openai.OpenAI,
                                                        blue: openai.OpenAI) -> None:
    steered, _ = harmful(red, RED)
    assert "UNSAFE" not in steered and "Wait, think safely." in steered
    with pytest.raises(openai.BadRequestError) as caught:
        harmful(red, RED, extra_body={"safethink": {"policy": "none"}})
    assert caught.value.code == "policy_not_allowed"
    assert "UNSAFE" not in harmful(blue, BLUE)[0]  # blue's default is steered too
    unguarded, _ = harmful(blue, BLUE, extra_body={"safethink": {"policy": "none"}})
    assert "UNSAFE" in unguarded


def test_neither_key_can_use_the_others_model(red: openai.OpenAI, blue: openai.OpenAI) -> None:
    for client, model, other in ((red, RED, BLUE), (blue, BLUE, RED)):
        assert [m.id for m in client.models.list()] == [model]
        with pytest.raises(openai.NotFoundError) as caught:
            client.chat.completions.create(model=other, messages=HARMFUL)
        assert caught.value.code == "model_not_found"


def test_a_wrong_key_is_refused_and_the_plain_keys_still_work(proxy: ServerProcess) -> None:
    for key in ("wrong", "admin-key"):
        response = httpx.get(proxy.url + "/v1/models", headers={"authorization": f"Bearer {key}"})
        assert response.status_code == 401
    # a SAFETHINK_API_KEYS key has the deployment's grant, over every model
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="legacy-secret", max_retries=0) as c:
        assert [m.id for m in c.models.list()] == [RED, BLUE]
        assert "UNSAFE" not in harmful(c, BLUE)[0]


def test_the_audit_the_log_and_the_stats_name_the_key(proxy: ServerProcess, red: openai.OpenAI,
                                                      blue: openai.OpenAI) -> None:
    before = {team: stats(proxy, team) for team in ("red-team", "blue-team")}
    _, red_id = harmful(red, RED)
    _, blue_id = harmful(blue, BLUE)
    harmful(blue, BLUE)
    for request_id, team in ((red_id, "red-team"), (blue_id, "blue-team")):
        record = httpx.get(f"{proxy.url}/v1/safethink/requests/{request_id}", headers=ADMIN).json()
        assert record["key"] == team and record["steers"] == 1
    after = {team: stats(proxy, team) for team in ("red-team", "blue-team")}
    assert after["red-team"]["key"] == "red-team"
    assert after["red-team"]["requests"] - before["red-team"]["requests"] == 1
    assert after["blue-team"]["requests"] - before["blue-team"]["requests"] == 2
    assert after["blue-team"]["steers"] - before["blue-team"]["steers"] == 2
    assert stats(proxy, "nobody")["requests"] == 0
    output = proxy.output()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    finished = {line["request_id"]: line for line in lines
                if line.get("message") == "request finished"}
    assert finished[red_id]["key"] == "red-team" and finished[red_id]["model"] == RED
    assert finished[blue_id]["key"] == "blue-team"
    for secret in ("red-secret", "blue-secret", hash_key("red-secret")):
        assert secret not in output
