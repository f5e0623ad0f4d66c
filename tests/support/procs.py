"""Real server processes on loopback for the tests: start, wait until ready, stop."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A child process serving HTTP on 127.0.0.1:port; its output goes to a log file."""

    def __init__(self, argv: Sequence[str], port: int, *, env: dict[str, str] | None = None,
                 ready_path: str = "/healthz", ready_timeout: float = 60.0) -> None:
        self.argv = list(argv)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, **(env or {})}
        self.ready_path = ready_path
        self.ready_timeout = ready_timeout
        self.log = tempfile.NamedTemporaryFile(prefix="server-", suffix=".log", delete=False)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                output = self.output()
                self.stop()
                raise RuntimeError(f"{self.argv} exited early:\n{output}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + self.ready_path, timeout=1.0).status_code < 500:
                    return self
            time.sleep(0.1)
        output = self.output()
        self.stop()
        raise RuntimeError(f"{self.argv} not ready in {self.ready_timeout}s:\n{output}")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def python_server(module: str, *args: str, port: int | None = None,
                  env: dict[str, str] | None = None, ready_path: str = "/healthz",
                  ready_timeout: float = 60.0) -> Iterator[ServerProcess]:
    """Run `python -m module --port PORT *args` and yield it once it answers."""
    port = port or free_port()
    argv = [sys.executable, "-m", module, "--port", str(port), *args]
    with ServerProcess(argv, port, env=env, ready_path=ready_path,
                       ready_timeout=ready_timeout) as server:
        yield server
