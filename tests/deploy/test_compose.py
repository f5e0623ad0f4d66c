"""docker-compose.yml against the Compose Specification, and .env.example beside it."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from tests.deploy.deployfiles import (
    DOCKERFILES,
    ROOT,
    compose_variables,
    dockerfile_instructions,
    interpolate,
    load_compose,
    load_env_example,
    service_environment,
)

SCHEMAS = Path(__file__).parent / "schemas"
COMPOSE_SCHEMA_SHA256 = "d549057ebc2925f39f62799eab0db7b9e2c18b35b6c00595199116da3ed10e64"
# Read by docker compose itself, not interpolated in the file.
COMPOSE_OWN_VARIABLES = {"COMPOSE_PROFILES"}


def _schema() -> dict[str, Any]:
    raw = (SCHEMAS / "compose-spec.json").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == COMPOSE_SCHEMA_SHA256, (
        "compose-spec.json changed: record its source and sha256 in schemas/README.md")
    schema = json.loads(raw)
    assert isinstance(schema, dict)
    return schema


def _errors(instance: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(_schema())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(instance)]


def test_compose_file_validates_against_the_compose_specification() -> None:
    assert _errors(load_compose()) == []


@pytest.mark.parametrize("variables", ["none", "env-example"])
def test_compose_file_validates_after_interpolation(variables: str) -> None:
    env = load_env_example().values if variables == "env-example" else {}
    assert _errors(interpolate(load_compose(), env)) == []


def test_the_validator_rejects_a_broken_compose_file() -> None:
    broken = load_compose()
    broken["services"]["proxy"]["depends_on"]["redis"]["condition"] = "service_ready"
    broken["services"]["proxy"]["helthcheck"] = broken["services"]["proxy"].pop("healthcheck")
    errors = _errors(broken)
    assert len(errors) >= 2, errors


SERVICES = load_compose()["services"]


def test_the_services() -> None:
    assert set(SERVICES) == {"redis", "reward", "reward-cpu", "proxy", "vllm"}
    for name, service in SERVICES.items():
        assert service["healthcheck"]["test"][0] == "CMD", f"{name} needs a healthcheck"


def _gpu_devices(service: dict[str, Any]) -> list[dict[str, Any]]:
    devices = service.get("deploy", {}).get("resources", {}).get("reservations", {})
    return list(devices.get("devices", []))


def test_reward_reserves_a_gpu_and_the_cpu_profile_runs_the_default_scorer_without_one() -> None:
    reward, cpu = SERVICES["reward"], SERVICES["reward-cpu"]
    assert reward["profiles"] == ["gpu"]
    [device] = _gpu_devices(reward)
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert reward["build"]["args"]["DEVICE"] == "cuda"
    assert cpu["profiles"] == ["cpu"]
    assert _gpu_devices(cpu) == []
    assert cpu["build"]["args"]["DEVICE"] == "cpu"
    assert cpu["environment"]["SAFETHINK_REWARD_BACKEND"] == "cross-encoder"
    assert "reward" in cpu["networks"]["default"]["aliases"]


def test_reward_healthchecks_wait_for_the_model() -> None:
    for name in ("reward", "reward-cpu"):
        assert "/readyz" in " ".join(SERVICES[name]["healthcheck"]["test"]), name
    assert "/healthz" in " ".join(SERVICES["proxy"]["healthcheck"]["test"])


def test_vllm_takes_model_and_reasoning_parser_from_env() -> None:
    vllm = SERVICES["vllm"]
    assert vllm["profiles"] == ["vllm"]
    command = vllm["command"]
    model = command[command.index("--model") + 1]
    parser = command[command.index("--reasoning-parser") + 1]
    assert compose_variables(model) == {"VLLM_MODEL"}
    assert compose_variables(parser) == {"VLLM_REASONING_PARSER"}
    assert "--enable-prefix-caching" in command
    assert _gpu_devices(vllm)


@pytest.mark.parametrize("profiles", [("cpu",), ("gpu",), ("gpu", "vllm"), ("cpu", "vllm")],
                         ids=",".join)
def test_each_profile_set_starts_a_complete_stack(profiles: tuple[str, ...]) -> None:
    """What `docker compose up` starts with these profiles: the proxy's required dependencies
    are there and healthy-gated, and its scorer and store hosts are services of the stack."""
    enabled = {name for name, s in SERVICES.items()
               if not s.get("profiles") or set(s["profiles"]) & set(profiles)}
    proxy = SERVICES["proxy"]
    for dependency, rule in proxy["depends_on"].items():
        assert dependency in SERVICES
        if rule.get("required", True):
            assert dependency in enabled, f"{dependency} is required but not enabled"
        if dependency != "vllm":
            assert rule["condition"] == "service_healthy"
    hosts = {name for name in enabled} | {alias for name in enabled
                                         for net in (SERVICES[name].get("networks") or {}).values()
                                         for alias in (net or {}).get("aliases", [])}
    env = service_environment(proxy, load_env_example().values)
    assert urlsplit(env["SAFETHINK_REWARD"]).hostname in hosts
    assert urlsplit(env["SAFETHINK_STORE"]).hostname in hosts
    rewards = [n for n in enabled if n.startswith("reward")]
    assert len(rewards) == 1, f"exactly one reward service answers as `reward`: {rewards}"


def test_env_example_profiles_are_defined() -> None:
    defined = {p for s in SERVICES.values() for p in s.get("profiles", [])}
    profiles = load_env_example().values["COMPOSE_PROFILES"].split(",")
    assert set(profiles) <= defined


def test_env_example_documents_every_variable_the_compose_file_reads() -> None:
    env = load_env_example()
    used = compose_variables(load_compose())
    # Keys without a value are passed through from the compose environment: variables too.
    for service in SERVICES.values():
        environment = service.get("environment", {})
        if isinstance(environment, dict):
            used |= {k for k, v in environment.items() if v is None}
    assert sorted(used - env.documented) == [], "used in docker-compose.yml, not in .env.example"
    unused = env.documented - used - COMPOSE_OWN_VARIABLES
    assert sorted(unused) == [], "in .env.example, not used by docker-compose.yml"


def test_env_example_defaults_match_the_compose_defaults() -> None:
    """With no .env the stack behaves as with the shipped .env.example (apart from profiles)."""
    env = load_env_example().values
    compose = load_compose()
    assert interpolate(compose, {}) == interpolate(compose, env), (
        "a default in docker-compose.yml differs from the value in .env.example")


def test_build_args_are_declared_in_the_dockerfiles() -> None:
    for name, service in SERVICES.items():
        build = service.get("build")
        if not build:
            continue
        dockerfile = ROOT / build["dockerfile"]
        assert dockerfile in DOCKERFILES.values(), name
        declared = {ins.args.split("=")[0] for ins in dockerfile_instructions(dockerfile)
                    if ins.keyword == "ARG"}
        assert set(build.get("args", {})) <= declared, name


def test_only_known_profile_combinations_are_documented() -> None:
    names = {p for s in SERVICES.values() for p in s.get("profiles", [])}
    assert names == {"gpu", "cpu", "vllm"}
    # Both scorers at once would claim the name `reward`; never document that.
    text = (ROOT / ".env.example").read_text()
    for a, b in itertools.permutations(["gpu", "cpu"]):
        assert f"COMPOSE_PROFILES={a},{b}" not in text
