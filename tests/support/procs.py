"""Real server processes on loopback for the tests: start, wait until ready, stop.

A server that exits on its own (a crash, a fatal signal such as SIGILL) is reported as
`ServerDied`: how it ended and the last lines of its log, whether it dies while it starts
(`start`) or later (`death` / `check_alive`, which the model-server watch of
tests/support/server_watch.py calls around each test).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
LOG_TAIL_LINES = 40


class ServerDied(RuntimeError):
    """A server process that the tests started has exited on its own."""


def exit_status(returncode: int) -> str:
    """How a process ended: ``killed by SIGILL (exit code -4)``, ``exited with status 1``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name} (exit code {returncode})"
    return f"exited with status {returncode}"


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
        self.stopping = False  # set by stop(): an exit after it is no death

    @property
    def name(self) -> str:
        """The program: MODULE of `python -m MODULE`, SCRIPT of `python SCRIPT`, else argv[0]."""
        if "-m" in self.argv[:-1]:
            return self.argv[self.argv.index("-m") + 1]
        if Path(self.argv[0]).name.startswith("python") and len(self.argv) > 1:
            return Path(self.argv[1]).name
        return Path(self.argv[0]).name

    def start(self) -> ServerProcess:
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if (died := self.death("before it was ready")) is not None:
                self.stop()
                raise died
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + self.ready_path, timeout=1.0).status_code < 500:
                    return self
            time.sleep(0.1)
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"{self.argv} not ready in {self.ready_timeout}s; {tail}")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of the server's output, introduced with where the whole log is."""
        last = self.output().splitlines()[-lines:]
        body = "".join(f"\n    {line}" for line in last) if last else " (empty)"
        return f"the last {len(last)} lines of its log ({self.log.name}):{body}"

    def death(self, when: str, *, grace_s: float = 0.0) -> ServerDied | None:
        """A ServerDied saying how the process ended, if it has exited on its own, else None.

        ``when`` says when it was seen dead ("during this test"). ``grace_s``: how long to wait
        for a process that is still dying (a client may see its sockets close before the exit
        can be reaped).
        """
        if self.proc is None or self.stopping:
            return None
        try:
            returncode = self.proc.wait(timeout=grace_s) if grace_s > 0 else self.proc.poll()
        except subprocess.TimeoutExpired:
            return None
        if returncode is None:
            return None
        return ServerDied(f"{self.name} on {self.url} died {when}: {exit_status(returncode)}; "
                          f"{self.log_tail()}")

    def check_alive(self, when: str = "earlier") -> None:
        """Raise ServerDied if the process has exited on its own."""
        if (died := self.death(when)) is not None:
            raise died

    def stop(self) -> None:
        self.stopping = True
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
