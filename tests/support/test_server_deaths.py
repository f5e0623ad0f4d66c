"""A server that dies is reported as such: how it ended (the signal) and the tail of its log, when
it dies while starting, and, for model servers, in the tests that use it (ModelServerWatch),
instead of those tests seeing the proxy's 502s.

The dying server is a few lines of http.server: it answers its readiness probe, then kills itself
with SIGILL on its first model request (as llama.cpp does on a CPU feature it may not use), or
while it starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.procs import ROOT, ServerDied, free_port
from tests.support.servers import SERVER_ENV, ModelServer

DYING_SERVER = '''
import http.server, os, resource, signal, sys

resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file left behind
port, when = int(sys.argv[1]), sys.argv[2]
if when == "start":
    print("loading the model", flush=True)
    os.kill(os.getpid(), signal.SIGILL)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # the readiness probe
        body = b'{"object": "list", "data": []}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        print("first request: running the model", flush=True)
        os.kill(os.getpid(), signal.SIGILL)


http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
'''

# A test session of its own that uses the dying server as its model server, the way tests/e2e
# use smollm2: one test sends it a request, a later one only needs it.
CONFTEST = '''
import sys
from pathlib import Path

import pytest

from tests.support.procs import free_port
from tests.support.server_watch import ModelServerWatch
from tests.support.servers import SERVER_ENV, ModelServer


def pytest_configure(config):
    config.pluginmanager.register(ModelServerWatch(), "model-server-watch")


@pytest.fixture(scope="session")
def model():
    port = free_port()
    argv = [sys.executable, str(Path(__file__).with_name("dying_server.py")), str(port),
            "request"]
    with ModelServer(argv, port, kind="fake", model="m", chat_template="", env=SERVER_ENV,
                     ready_path="/v1/models", ready_timeout=60) as server:
        yield server


@pytest.fixture(scope="session")
def base_url(model):  # the model server reached through another fixture
    return model.base_url
'''

TESTS = '''
import httpx


def test_asks_the_model(base_url):
    response = httpx.post(base_url + "/chat/completions", json={}, timeout=30)
    assert response.status_code == 200


def test_after_it_died(model):
    assert model.url
'''


def dying_server(tmp_path: Path, when: str) -> ModelServer:
    script = tmp_path / "dying_server.py"
    script.write_text(DYING_SERVER)
    port = free_port()
    return ModelServer([sys.executable, str(script), str(port), when], port, kind="fake",
                       model="m", chat_template="", env=SERVER_ENV, ready_path="/v1/models",
                       ready_timeout=60)


def test_a_death_while_starting_names_the_signal_and_the_log(tmp_path: Path) -> None:
    with pytest.raises(ServerDied) as caught, dying_server(tmp_path, "start"):
        pass
    message = str(caught.value)
    assert "dying_server.py" in message
    assert "died before it was ready: killed by SIGILL (exit code -4)" in message
    assert "loading the model" in message  # the tail of its log
    assert "Fatal Python error: Illegal instruction" in message  # faulthandler's report


def test_a_death_on_a_request_names_the_signal_and_the_log(tmp_path: Path) -> None:
    with dying_server(tmp_path, "request") as server:
        assert server.death("now") is None
        with pytest.raises(httpx.TransportError):
            httpx.post(server.base_url + "/chat/completions", json={}, timeout=30)
        died = server.death("now", grace_s=10.0)
        assert died is not None
        with pytest.raises(ServerDied) as caught:
            server.check_alive()
    for message in (str(died), str(caught.value)):
        assert "killed by SIGILL (exit code -4)" in message
        assert "first request: running the model" in message


def test_a_stopped_server_did_not_die(tmp_path: Path) -> None:
    with dying_server(tmp_path, "request") as server:
        pass
    assert server.proc is not None and server.proc.returncode == -15  # SIGTERM from stop()
    assert server.death("now") is None


def test_tests_using_a_dead_model_server_fail_saying_so(tmp_path: Path) -> None:
    (tmp_path / "dying_server.py").write_text(DYING_SERVER)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_model.py").write_text(TESTS)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", str(tmp_path)],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "300"},
        capture_output=True, text=True, timeout=300, check=False)
    out = run.stdout
    assert run.returncode == 1 and "2 failed" in out, out
    assert ("FAILED test_model.py::test_asks_the_model - tests.support.procs.ServerDied: "
            "dying_server.py on http://127.0.0.1:") in out
    assert "died during this test: killed by SIGILL (exit code -4)" in out
    assert "first request: running the model" in out  # the tail of its log
    # what the test itself saw is kept, as the cause
    assert "The above exception was the direct cause of the following exception" in out
    assert ("FAILED test_model.py::test_after_it_died - tests.support.procs.ServerDied: "
            "dying_server.py on http://127.0.0.1:") in out
    assert "died before this test: killed by SIGILL (exit code -4)" in out
