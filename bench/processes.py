"""The measured servers as processes: starting, health-waiting, CPU and memory, stopping.

Also LiteLLM's generated config and where its executable is.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from bench.synthetic import PACINGS, model_name

ROOT = Path(__file__).resolve().parent.parent
MASTER_KEY = "sk-bench-master"
PORT = "{port}"  # in a target's argv: the port it is given when it starts
START_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        total = 0.0
        for process in self.tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def peak_rss_mb(self) -> float:
        """The sum of VmHWM (peak resident set) over the process tree."""
        total_kb = 0
        for process in self.tree():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total_kb += int(line.split()[1])
        return total_kb / 1024.0

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        children = self.tree()[1:]
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for child in children:  # the processes this server started, if any are left
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()


class StartError(RuntimeError):
    pass


async def start_server(
    name: str,
    argv: list[str],
    port: int,
    health: str,
    logdir: Path,
    env: dict[str, str] | None = None,
    wait_s: float = START_TIMEOUT_S,
    cwd: Path = ROOT,
) -> Server:
    server = spawn(name, argv, port, logdir, env, cwd)
    proc = server.proc
    deadline = time.monotonic() + wait_s
    headers = {"authorization": f"Bearer {MASTER_KEY}"}
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StartError(f"{name} exited with {proc.returncode}:\n{server.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                response = await client.get(server.base + health, headers=headers)
                if response.status_code == 200:
                    return server
            await asyncio.sleep(0.2)
    server.stop()
    raise StartError(f"{name} did not answer {health} in {wait_s:.0f}s:\n{server.log_tail()}")


def spawn(
    name: str,
    argv: list[str],
    port: int,
    logdir: Path,
    env: dict[str, str] | None,
    cwd: Path = ROOT,
) -> Server:
    log = logdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )
    return Server(name, proc, port, log)


def bench_argv(*args: str) -> list[str]:
    """A command line that runs one of the bench's own servers (``python -m bench.proxy_bench``)."""
    return [sys.executable, "-m", "bench.proxy_bench", *args]


def litellm_config(path: Path, upstream: str) -> None:
    lines = ["model_list:"]
    for pace in PACINGS.values():
        name = model_name(pace)
        lines += [
            f"  - model_name: {name}",
            "    litellm_params:",
            f"      model: openai/{name}",
            f"      api_base: {upstream}",
            "      api_key: sk-upstream",
        ]
    lines += [
        "litellm_settings:",
        "  drop_params: true",
        "  telemetry: false",
        "general_settings:",
        f"  master_key: {MASTER_KEY}",
    ]
    path.write_text("\n".join(lines) + "\n")


@dataclass
class Target:
    name: str
    argv: list[str]
    health: str
    env: dict[str, str] = field(default_factory=dict)
    path: str = "/v1/chat/completions"
    # Where it runs: another checkout for a baseline (``python -m`` imports from the cwd first).
    cwd: Path = ROOT
    # Whether it is this project's proxy: its /metrics histograms are read around each cell.
    metrics: bool = False


def find_litellm(args: argparse.Namespace) -> tuple[str | None, str]:
    """The litellm executable, or why there is none."""
    if args.no_litellm:
        return None, "--no-litellm given"
    local = ROOT / ".venv-bench" / "bin" / "litellm"
    path = args.litellm or (str(local) if local.exists() else shutil.which("litellm"))
    if not path or not Path(path).exists():
        return None, (
            f"no litellm executable at {path or local} (install it: python -m venv .venv-bench"
            " && .venv-bench/bin/pip install 'litellm[proxy]', or pass --litellm PATH)"
        )
    return path, ""


@contextlib.contextmanager
def background(servers: list[Server]) -> Iterator[None]:
    try:
        yield
    finally:
        for server in servers:
            server.stop()
