"""A real Redis Cluster of a few nodes on free local ports (no replicas, no persistence), for the tests and
the bench: started as an operator would, three `redis-server --cluster-enabled yes`, then `redis-cli
--cluster create`, then waiting for every node to report cluster_state:ok."""

from __future__ import annotations

import random
import socket
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import redis

from headline_dedup import procs
from headline_dedup.embedded import server_binary


class LocalCluster:
    """`nodes` primaries on 127.0.0.1; `url` names the first, from which a client learns the rest."""

    def __init__(self, folder: Path, nodes: int = 3) -> None:
        self.folder = folder
        self.binary = server_binary()
        self.ports: list[int] = []
        while len(self.ports) < nodes:
            port = _cluster_port()
            if port not in self.ports:
                self.ports.append(port)
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """Any node: the client learns the rest from it."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self, timeout: float = 30) -> LocalCluster:
        self.folder.mkdir(parents=True, exist_ok=True)
        for i in range(len(self.ports)):
            self._start_node(i, timeout)
        cli_binary = str(Path(self.binary).with_name(Path(self.binary).name.replace("server", "cli")))
        created = subprocess.run([cli_binary, "--cluster", "create",
                                  *(f"127.0.0.1:{p}" for p in self.ports), "--cluster-replicas", "0",
                                  "--cluster-yes"], capture_output=True, text=True, timeout=timeout)
        if created.returncode != 0:
            self.stop()
            raise RuntimeError(f"redis-cli --cluster create failed: {created.stdout}{created.stderr}")
        for port in self.ports:
            _wait(partial(_cluster_ok, port), timeout, f"cluster_state:ok on port {port}")
        return self

    def _start_node(self, i: int, timeout: float, tries: int = 3) -> None:
        """Node i on its port; on another free port if that one was taken meanwhile (the server exits)."""
        for _ in range(tries):
            port = self.ports[i]
            proc = procs.spawn(
                [self.binary, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", str(self.folder / f"nodes-{port}.conf"), "--save", "",
                 "--appendonly", "no", "--dir", str(self.folder), "--logfile", str(self.folder / f"{port}.log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _wait(partial(_up_or_gone, proc, port), timeout, f"cluster node on port {port}")
            if proc.poll() is None:
                self.procs.append(proc)
                return
            self.ports[i] = _cluster_port()
        self.stop()
        raise RuntimeError(f"no cluster node would start; see the logs in {self.folder}")

    def flush(self) -> None:
        for port in self.ports:
            _client(port).flushall()

    def keys_per_node(self) -> dict[int, int]:
        return {port: int(_client(port).dbsize()) for port in self.ports}

    def stop(self) -> None:
        procs.stop(self.procs)


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too, so both under 65536."""
    while True:
        port = random.randrange(20000, 50000)
        if all(_free(p) for p in (port, port + 10000)):
            return port


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _client(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)


def _cluster_ok(port: int) -> bool:
    return b"cluster_state:ok" in _client(port).execute_command("CLUSTER", "INFO")


def _up_or_gone(proc: subprocess.Popen[bytes], port: int) -> bool:
    return proc.poll() is not None or _pings(port)


def _pings(port: int) -> bool:
    try:
        return bool(_client(port).ping())
    except redis.RedisError:
        return False
