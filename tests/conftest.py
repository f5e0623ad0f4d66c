"""Fixtures shared by the test layers: real server processes on loopback."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import pytest

from tests.e2e.helpers import PREFIX
from tests.support.procs import ServerProcess, free_port, python_server
from tests.support.server_watch import ModelServerWatch
from tests.support.servers import (
    ModelServer,
    llama_cpp_available,
    llama_cpp_server,
    tiny_model_dir,
    transformers_serve,
)

ProxyFactory = Callable[..., ServerProcess]


def pytest_configure(config: pytest.Config) -> None:
    # a model server that dies fails its tests saying how, not with the proxy's 502s
    config.pluginmanager.register(ModelServerWatch(), "model-server-watch")


@pytest.fixture(scope="session")
def scripted_upstream() -> Iterator[ServerProcess]:
    with python_server("tests.support.scripted_upstream") as server:
        yield server


@pytest.fixture(scope="session")
def scripted_scorer() -> Iterator[ServerProcess]:
    with python_server("tests.support.scripted_scorer") as server:
        yield server


@pytest.fixture(scope="session")
def prefix_scorer() -> Iterator[ServerProcess]:
    """Rejects every trace until the steering prefix is in it: forces a steer on real text."""
    with python_server("tests.support.scripted_scorer", "--unsafe-unless", PREFIX) as server:
        yield server


@pytest.fixture(scope="session")
def tiny_transformers() -> Iterator[ModelServer]:
    """`transformers serve` with a tiny random-weight model built offline."""
    with transformers_serve(tiny_model_dir()) as server:
        yield server


@pytest.fixture(scope="session")
def smollm2() -> Iterator[ModelServer]:
    """SmolLM2-135M-Instruct served by llama-cpp-python."""
    if (reason := llama_cpp_available()) is not None:
        pytest.skip(f"llama-cpp-python server unavailable: {reason}")
    with llama_cpp_server() as server:
        yield server


@pytest.fixture(scope="session")
def start_proxy() -> Iterator[ProxyFactory]:
    """Start ``python -m proxy`` with SAFETHINK_* settings; one process per distinct setting."""
    running: dict[tuple[tuple[str, str], ...], ServerProcess] = {}

    def start(**settings: object) -> ServerProcess:
        env = {f"SAFETHINK_{k.upper()}": _env_value(v) for k, v in settings.items()}
        key = tuple(sorted(env.items()))
        if key not in running:
            port = free_port()
            server = ServerProcess([sys.executable, "-m", "proxy", "--port", str(port)], port,
                                   env={"SAFETHINK_LOG_LEVEL": "warning", **env})
            running[key] = server.start()
        return running[key]

    yield start
    for server in running.values():
        server.stop()


def _env_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        import json

        return json.dumps(list(value))
    return str(value)
