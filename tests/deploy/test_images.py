"""The images start the services the way the tests start them (`python -m proxy`,
`python -m reward_service`), as a non-root user, with a health check; nothing that runs them
(compose, Kubernetes) replaces that entrypoint."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from typing import Any

import pytest

from proxy.__main__ import parse_args as proxy_flags
from proxy.settings import Settings
from reward_service.__main__ import settings_from_args as reward_flags
from reward_service.settings import RewardSettings
from tests.deploy.deployfiles import (
    DOCKERFILES,
    ROOT,
    Instruction,
    dockerfile_instructions,
    entrypoint,
    final_stage,
    load_compose,
    load_manifests,
    pod_specs,
)

MODULES = {"proxy": "proxy", "reward": "reward_service"}
PORTS = {"proxy": Settings.model_fields["port"].default,
         "reward": RewardSettings.model_fields["port"].default}
HEALTH = {"proxy": "/healthz", "reward": "/readyz"}
IMAGES = {"safethink/proxy": "proxy", "safethink/reward": "reward"}
COMPOSE_SERVICES = {"proxy": "proxy", "reward": "reward", "reward-cpu": "reward"}


def _final(service: str) -> list[Instruction]:
    return final_stage(dockerfile_instructions(DOCKERFILES[service]))


def _one(stage: list[Instruction], keyword: str) -> Instruction:
    found = [i for i in stage if i.keyword == keyword]
    assert len(found) == 1, f"{keyword}: {found}"
    return found[0]


def _check_flags(service: str, flags: list[str]) -> None:
    """The flags parse with the service's own command line (argparse exits on a bad one)."""
    if service == "proxy":
        Settings(**proxy_flags(flags))
    else:
        reward_flags(flags)


@pytest.mark.parametrize("service", list(DOCKERFILES))
def test_image_starts_the_module_the_tests_run(service: str) -> None:
    argv = entrypoint(service)
    assert argv[:3] == ["python", "-m", MODULES[service]]
    # Listens on every interface inside the container (the default is loopback).
    assert argv[3:5] == ["--host", "0.0.0.0"]
    _check_flags(service, argv[3:])


def test_the_tests_start_the_same_modules() -> None:
    """tests/ start both services as `python -m <module>`: the same command as the images."""
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py")
                        if "deploy" not in p.relative_to(ROOT / "tests").parts)
    # tests/support/procs.py: python_server(module) runs [sys.executable, "-m", module, ...].
    assert '[sys.executable, "-m", module' in sources
    for module in MODULES.values():
        started = (f'[sys.executable, "-m", "{module}"' in sources
                   or f'python_server("{module}"' in sources)
        assert started, f"no test starts `python -m {module}`"


@pytest.mark.parametrize("service", list(DOCKERFILES))
def test_the_entrypoint_runs_here(service: str) -> None:
    """The image's exact argv, with this venv's python: the module runs and takes the flags."""
    argv = entrypoint(service)
    done = subprocess.run([sys.executable, *argv[1:], "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "--host" in done.stdout


@pytest.mark.parametrize("service", list(DOCKERFILES))
def test_image_runs_as_non_root_with_a_health_check(service: str) -> None:
    stage = _final(service)
    user = _one(stage, "USER").args.split(":")[0]
    assert user not in ("root", "0") and int(user) >= 10000
    health = _one(stage, "HEALTHCHECK").args
    assert HEALTH[service] in health and "CMD" in health
    assert _one(stage, "EXPOSE").args == str(PORTS[service])


def test_proxy_image_has_no_torch() -> None:
    build = [i.args for i in dockerfile_instructions(DOCKERFILES["proxy"]) if i.keyword == "RUN"]
    installs = [cmd for cmd in build if "pip install" in cmd]
    assert installs and all("[reward]" not in cmd and "torch==" not in cmd for cmd in installs)
    base = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not [d for d in base if d.lower().startswith("torch")]


def test_reward_image_pins_torch_and_has_a_cpu_variant() -> None:
    instructions = dockerfile_instructions(DOCKERFILES["reward"])
    args = {i.args.split("=")[0]: i.args.partition("=")[2] for i in instructions
            if i.keyword == "ARG"}
    assert args["DEVICE"] == "cuda" and args["TORCH_VERSION"] == "2.13.0"
    assert "MODEL_ID" in args
    text = DOCKERFILES["reward"].read_text()
    assert "download.pytorch.org/whl/cpu" in text and '".[reward]"' in text


def test_compose_keeps_the_entrypoints() -> None:
    services: dict[str, Any] = load_compose()["services"]
    for name, service in COMPOSE_SERVICES.items():
        assert "entrypoint" not in services[name], name
        command = services[name].get("command", [])
        assert all(isinstance(c, str) for c in command)
        _check_flags(service, list(command))
        assert services[name]["build"]["dockerfile"] == str(
            DOCKERFILES[service].relative_to(ROOT))


def test_kubernetes_keeps_the_entrypoints() -> None:
    for m, spec in pod_specs(load_manifests()):
        for c in spec["containers"]:
            service = IMAGES.get(c["image"].split(":")[0])
            if service is None:
                continue
            assert "command" not in c, f"{m}: `command` replaces the image's entrypoint"
            _check_flags(service, [str(a) for a in c.get("args", [])])
            ports = {p["containerPort"] for p in c["ports"]}
            assert ports == {PORTS[service]}, str(m)
