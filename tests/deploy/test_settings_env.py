"""The settings the manifests, the compose file, .env.example and the images pass in are ones
the services accept: each service's settings class is loaded from that environment, and any
SAFETHINK_* variable that is not one of its fields (misspelled, unknown, the other service's)
fails. Both settings classes ignore unknown variables at run time, so only this catches them.
And every shipped proxy lets no request weaken its guard (no policy or knob overrides)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml
from pydantic_settings import BaseSettings

from proxy.api.schemas import ChatRequest
from proxy.engine.policies import resolve
from proxy.exceptions import PolicyNotAllowed
from proxy.settings import Settings
from reward_service.settings import RewardSettings
from tests.deploy.deployfiles import (
    DOCKERFILES,
    container_env,
    image_env,
    load_compose,
    load_env_example,
    load_manifests,
    pod_specs,
    service_environment,
)

PREFIX = "SAFETHINK_"
REWARD_PREFIX = "SAFETHINK_REWARD_"
# Not a field: the proxy's YAML settings file (proxy/settings.py, _YamlSource).
PROXY_SETTINGS_FILE = "SAFETHINK_CONFIG"
SETTINGS = {"proxy": Settings, "reward": RewardSettings}

# Which settings class reads a container's environment.
COMPOSE_SERVICES = {"proxy": "proxy", "reward": "reward", "reward-cpu": "reward"}
IMAGES = {"safethink/proxy": "proxy", "safethink/reward": "reward"}


def unknown_variables(service: str, env: Mapping[str, str]) -> list[str]:
    """The SAFETHINK_* names in `env` that the service's settings class has no field for."""
    bad = []
    for key in env:
        if not key.upper().startswith(PREFIX):
            continue
        if service == "proxy":
            ok = key == PROXY_SETTINGS_FILE or (
                key.isupper() and key[len(PREFIX):].lower() in Settings.model_fields)
        elif service == "reward":
            ok = key.startswith(REWARD_PREFIX) and key.isupper() and (
                key[len(REWARD_PREFIX):].lower() in RewardSettings.model_fields)
        else:  # a container of neither service (Redis, vLLM) gets no SafeThink settings
            ok = False
        if not ok:
            bad.append(key)
    return sorted(bad)


def env_example_service(key: str) -> str | None:
    """The service a SAFETHINK_* variable of .env.example is for; None when it is no field."""
    if key.startswith(REWARD_PREFIX) and not unknown_variables("reward", {key: ""}):
        return "reward"
    if not unknown_variables("proxy", {key: ""}):
        return "proxy"
    return None


# What a hostile client would ask of a deployment to turn its guard off.
WEAKENING_ASKS: list[tuple[dict[str, Any], str | None]] = [
    ({"policy": "none"}, None), ({}, "none"), ({"tau": -1.0}, None), ({"steer_steps": 0}, None),
    ({"resamples": 0}, None), ({"fail_mode": "open"}, None)]


def assert_no_request_weakens_the_guard(settings: Settings) -> None:
    assert settings.request_overrides == [], "requests may change the guard's knobs"
    assert settings.allowed_policies == [settings.policy], "requests may pick another policy"
    for options, header in WEAKENING_ASKS:
        request = ChatRequest.model_validate({
            "model": "m", "messages": [{"role": "user", "content": "hi"}],
            **({"safethink": options} if options else {})})
        with pytest.raises(PolicyNotAllowed):
            resolve(settings, request, header)


@pytest.fixture
def load_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """Build a settings class from exactly `env` (plus the settings files it names)."""

    def load(service: str, env: Mapping[str, str], files: Mapping[str, str] | None = None,
             **flags: Any) -> BaseSettings:
        assert unknown_variables(service, env) == [], (
            f"not settings of the {service}: {unknown_variables(service, env)}")
        for key in list(os.environ):
            if key.upper().startswith(PREFIX):
                monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        if PROXY_SETTINGS_FILE in env and service == "proxy":
            mounted = env[PROXY_SETTINGS_FILE]
            assert files is not None and mounted in files, f"{mounted} is not mounted"
            local = tmp_path / Path(mounted).name
            local.write_text(files[mounted])
            monkeypatch.setenv(PROXY_SETTINGS_FILE, str(local))
            data = yaml.safe_load(files[mounted]) or {}
            assert set(data) <= set(Settings.model_fields), f"{mounted}: {set(data)}"
        settings: BaseSettings = SETTINGS[service](**flags)
        return settings

    yield load


# --- Kubernetes ------------------------------------------------------------------------------

MANIFESTS = load_manifests()
CONTAINERS = [(m, spec, c) for m, spec in pod_specs(MANIFESTS) for c in spec["containers"]]


def _image_service(image: str) -> str | None:
    return IMAGES.get(image.split(":")[0].split("@")[0])


@pytest.mark.parametrize(("manifest", "spec", "container"), CONTAINERS,
                         ids=[f"{m.name}/{c['name']}" for m, _, c in CONTAINERS])
def test_kubernetes_container_environment_loads(load_settings: Any, manifest: Any, spec: Any,
                                                container: Any) -> None:
    env, files = container_env(spec, container, MANIFESTS)
    service = _image_service(container["image"])
    if service is None:
        assert unknown_variables("other", env) == [], f"{manifest}: SafeThink settings given"
        return
    from_image = image_env(service)
    settings = load_settings(service, {**from_image, **env}, files)
    if service == "proxy":
        assert isinstance(settings, Settings)
        assert settings.store.startswith("redis://")
        assert settings.reward.startswith("http://")
        assert_no_request_weakens_the_guard(settings)
    else:
        assert isinstance(settings, RewardSettings)
        assert settings.device == "cuda"


def test_kubernetes_configmaps_hold_only_settings() -> None:
    """Every ConfigMap / Secret key that a container loads as its environment is a setting."""
    for _, spec, container in CONTAINERS:
        service = _image_service(container["image"])
        env, _ = container_env(spec, container, MANIFESTS)
        assert all(k.startswith(PREFIX) for k in env), env
        if service:
            assert unknown_variables(service, env) == []


# --- docker compose --------------------------------------------------------------------------

SERVICES = load_compose()["services"]
ENV_EXAMPLE = load_env_example()
VARIABLE_SETS = {
    "no .env": {},
    ".env.example": ENV_EXAMPLE.values,
    ".env.example, optional lines set": {
        **ENV_EXAMPLE.values,
        **{k: v or "placeholder" for k, v in ENV_EXAMPLE.optional.items()},
    },
}


@pytest.mark.parametrize("variables", list(VARIABLE_SETS))
@pytest.mark.parametrize("name", list(SERVICES))
def test_compose_service_environment_loads(load_settings: Any, name: str, variables: str) -> None:
    env = service_environment(SERVICES[name], VARIABLE_SETS[variables])
    service = COMPOSE_SERVICES.get(name)
    if service is None:
        assert unknown_variables("other", env) == [], f"{name}: SafeThink settings given"
        return
    model_id = SERVICES[name].get("build", {}).get("args", {}).get("MODEL_ID", "")
    settings = load_settings(service, {**image_env(service, model_id=str(model_id)), **env})
    if isinstance(settings, Settings):
        assert_no_request_weakens_the_guard(settings)


def test_env_example_variables_are_settings(load_settings: Any) -> None:
    by_service: dict[str, dict[str, str]] = {"proxy": {}, "reward": {}}
    unknown = []
    for key, value in {**ENV_EXAMPLE.values, **ENV_EXAMPLE.optional}.items():
        if not key.startswith(PREFIX):
            continue
        service = env_example_service(key)
        if service is None:
            unknown.append(key)
        else:
            by_service[service][key] = value or "placeholder"
    assert unknown == [], f".env.example: not a setting of either service: {unknown}"
    for service, env in by_service.items():
        load_settings(service, env)


# --- images ----------------------------------------------------------------------------------

@pytest.mark.parametrize("model_id", ["", "meta-llama/Llama-Guard-3-8B"])
@pytest.mark.parametrize("service", list(DOCKERFILES))
def test_image_environment_loads(load_settings: Any, service: str, model_id: str) -> None:
    settings = load_settings(service, image_env(service, model_id=model_id))
    if isinstance(settings, Settings):
        # The proxy image has no torch: it must never default to the embedded scorer.
        assert settings.reward != "embedded"
        assert_no_request_weakens_the_guard(settings)
    elif isinstance(settings, RewardSettings):
        # Baked: the model's directory; not baked: no model (the probe's packaged MiniLM).
        expected = Path("/opt/safethink/model") if model_id else None
        assert settings.model_path() == expected


# --- the checker itself ------------------------------------------------------------------------

@pytest.mark.parametrize(("service", "key"), [
    ("proxy", "SAFETHINK_TUA"),  # misspelled
    ("proxy", "SAFETHINK_UPSTREAM"),  # not a field (it is SAFETHINK_UPSTREAM_URL)
    ("proxy", "SAFETHINK_REWARD_BACKEND"),  # the reward service's, in the proxy
    ("proxy", "safethink_tau"),  # lower case
    ("reward", "SAFETHINK_REWARD_BACKEN"),
    ("reward", "SAFETHINK_TAU"),  # the proxy's, in the reward service
    ("other", "SAFETHINK_POLICY"),
])
def test_unknown_or_misspelled_variables_fail(load_settings: Any, service: str, key: str) -> None:
    assert unknown_variables(service, {key: "1"}) == [key]
    if service in SETTINGS:
        with pytest.raises(AssertionError, match="not settings of"):
            load_settings(service, {key: "1"})


def test_a_misspelled_configmap_key_fails(load_settings: Any) -> None:
    _, spec, container = next(x for x in CONTAINERS if x[0].name == "safethink-proxy")
    manifests = [x for x in MANIFESTS if (x.kind, x.name) != ("ConfigMap", "safethink-proxy")]
    config = next(x for x in MANIFESTS if (x.kind, x.name) == ("ConfigMap", "safethink-proxy"))
    broken = type(config)(config.path, config.index, {
        **config.doc, "data": {**config.doc["data"], "SAFETHINK_FAILMODE": "open"}})
    env, files = container_env(spec, container, [*manifests, broken])
    with pytest.raises(AssertionError, match="SAFETHINK_FAILMODE"):
        load_settings("proxy", env, files)


def test_a_bad_value_fails(load_settings: Any) -> None:
    with pytest.raises(pydantic.ValidationError):
        load_settings("proxy", {"SAFETHINK_POLICY": "safe-ish"})
    with pytest.raises(pydantic.ValidationError):
        load_settings("reward", {"SAFETHINK_REWARD_BACKEND": "llamaguard"})


@pytest.mark.parametrize("opened", [
    {"SAFETHINK_REQUEST_OVERRIDES": '["policy"]'},
    {"SAFETHINK_REQUEST_OVERRIDES": '["tau"]', "SAFETHINK_OVERRIDE_TAU_MIN": "-1"},
    {"SAFETHINK_ALLOWED_POLICIES": '["safethink", "none"]'},
])
def test_a_manifest_that_opens_the_guard_fails(load_settings: Any, opened: dict[str, str]) -> None:
    _, spec, container = next(x for x in CONTAINERS if x[0].name == "safethink-proxy")
    env, files = container_env(spec, container, MANIFESTS)
    settings = load_settings("proxy", {**image_env("proxy"), **env, **opened}, files)
    with pytest.raises(AssertionError, match="requests may"):
        assert_no_request_weakens_the_guard(settings)
