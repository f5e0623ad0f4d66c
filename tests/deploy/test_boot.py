"""The services boot from the deploy files' settings: the image's exact start command (with this
venv's python, on loopback) and the environment Kubernetes or compose gives it, with only the
addresses of other machines replaced by loopback test servers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from reward_service.pairmodel import WEIGHTS_FILE, default_weights_dir
from tests.deploy.deployfiles import (
    container_env,
    entrypoint,
    image_env,
    load_compose,
    load_env_example,
    load_manifests,
    pod_specs,
    service_environment,
)
from tests.support.procs import ServerProcess, free_port

pytestmark = pytest.mark.e2e


def _argv(service: str, port: int) -> list[str]:
    # Flags given after the entrypoint's win: listen on loopback only, on a free port.
    return [sys.executable, *entrypoint(service)[1:], "--host", "127.0.0.1", "--port", str(port)]


def test_proxy_boots_from_the_kubernetes_settings(tmp_path: Path, scripted_upstream: Any,
                                                  scripted_scorer: Any) -> None:
    manifests = load_manifests()
    spec, container = next((spec, c) for m, spec in pod_specs(manifests)
                           if m.name == "safethink-proxy" for c in spec["containers"])
    env, files = container_env(spec, container, manifests)
    settings = yaml.safe_load(files[env["SAFETHINK_CONFIG"]])
    assert settings["store"].startswith("redis://")
    # Nothing listens there: the store is down, and serving goes on without it.
    settings["store"] = f"redis://127.0.0.1:{free_port()}/0"
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(yaml.safe_dump(settings))
    env.update(
        SAFETHINK_CONFIG=str(settings_file),
        SAFETHINK_UPSTREAM_URL=scripted_upstream.url + "/v1",
        SAFETHINK_REWARD=scripted_scorer.url,
        SAFETHINK_LOG_LEVEL="warning",
    )
    port = free_port()
    with ServerProcess(_argv("proxy", port), port, env={**image_env("proxy"), **env}) as proxy:
        ready = httpx.get(proxy.url + "/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["checks"]["upstream"] == "ok" and body["checks"]["reward"] == "ok"
        # The store named in the Secret's settings file was used (and is down here).
        assert body["status"] == "degraded" and body["checks"]["store"] != "ok"
        assert httpx.get(proxy.url + "/metrics", timeout=5).status_code == 200


@pytest.mark.slow
def test_cpu_reward_service_boots_from_the_compose_settings() -> None:
    if not (default_weights_dir() / WEIGHTS_FILE).exists():
        pytest.skip(f"the cross-encoder is not built yet ({default_weights_dir()})")
    env = service_environment(load_compose()["services"]["reward-cpu"],
                              load_env_example().values)
    port = free_port()
    with ServerProcess(_argv("reward", port), port, env={**image_env("reward"), **env},
                       ready_path="/readyz", ready_timeout=120) as reward:
        ready = httpx.get(reward.url + "/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["backend"] == "cross-encoder"
        scored = httpx.post(reward.url + "/v1/score", timeout=30, json={
            "items": [{"prompt": "How do I bake bread?", "trace": ""}]})
        assert scored.status_code == 200, scored.text
