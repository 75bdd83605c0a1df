"""Starting and stopping what the benchmark measures: Redis, RQ workers, the API.

Everything is registered on one ExitStack, so an error or Ctrl-C still stops every child.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import httpx
import redis

from headline_dedup import procs
from headline_dedup.embedded import EmbeddedRedis, connect, free_port
from headline_dedup.localcluster import LocalCluster

ROOT = Path(__file__).resolve().parent.parent
# The API runs as `headlines up` runs it by default: two uvicorn worker processes.
API_WORKERS = 2


@dataclass
class Bench:
    """The Redis the benchmark started, and the environment its children run with. With a cluster, `url`
    names a node of a 3-node Redis Cluster holding the state and `queue_url` the plain Redis of the queue."""

    url: str
    port: int
    password: str
    tmp: Path
    stack: ExitStack
    env: dict[str, str] = field(default_factory=dict)
    queue_url: str = ""
    cluster: LocalCluster | None = None

    @cached_property
    def queue_redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.queue_url or self.url)

    @cached_property
    def redis(self) -> redis.Redis:
        return connect(self.url, cluster=self.cluster is not None)


def open_bench(stack: ExitStack, cluster: bool = False) -> Bench:
    """A Redis of the bench's own; with `cluster`, a 3-node Redis Cluster for the state beside it (which
    then holds only the queue), the children pointed at both as an operator would."""
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="headlines-bench-")))
    server = EmbeddedRedis(tmp / "redis", persist=False).start()
    stack.callback(server.stop)
    # HEADLINES_DATA_DIR keeps children from writing a url file into the repo's .headlines.
    env = {**os.environ, "REDIS_URL": server.url, "HEADLINES_DATA_DIR": str(tmp / "data"),
           "PYTHONPATH": str(ROOT)}
    if not cluster:
        return Bench(server.url, server.port, server.password, tmp, stack, env)
    nodes = LocalCluster(tmp / "cluster")
    stack.callback(nodes.stop)
    nodes.start()
    env.update(REDIS_URL=nodes.url, HEADLINES_REDIS_CLUSTER="true", HEADLINES_QUEUE_URL=server.url)
    return Bench(nodes.url, nodes.ports[0], "", tmp, stack, env, queue_url=server.url, cluster=nodes)


def spawn(bench: Bench, args: list[str], log_name: str) -> subprocess.Popen[bytes]:
    """A child whose output goes to a log file in the temp dir; stopped when the stack unwinds."""
    log = (bench.tmp / log_name).open("ab")
    bench.stack.callback(log.close)
    # Own session: Ctrl-C reaches only us, and we stop children in order.
    proc = procs.spawn(args, cwd=ROOT, env=bench.env, stdout=log, stderr=subprocess.STDOUT, own_session=True)
    bench.stack.callback(procs.stop, proc)
    return proc


def start_workers(
    bench: Bench, count: int, queue: str, forking: bool = False, extra: list[str] | None = None
) -> list[subprocess.Popen[bytes]]:
    """The service's SimpleWorkers (`python -m headline_dedup.workers`), or plain forking `rq worker`s for the
    naive run."""
    if forking:
        args = [sys.executable, "-m", "rq.cli", "worker", "-u", bench.url, "--quiet", *(extra or []), queue]
    else:
        args = [sys.executable, "-m", "headline_dedup.workers"]
    procs = [spawn(bench, args, f"worker-{queue}-{i}.log") for i in range(count)]
    _wait_for_workers(bench, queue, count, procs)
    return procs


def _wait_for_workers(bench: Bench, queue: str, count: int, procs: list[subprocess.Popen[bytes]]) -> None:
    from rq import Queue, Worker

    q = Queue(queue, connection=bench.queue_redis)
    deadline = time.monotonic() + 60
    while len(Worker.all(queue=q)) < count:
        if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
            raise RuntimeError(f"workers did not start; see logs in {bench.tmp}")
        time.sleep(0.1)


def start_api(bench: Bench) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "--factory", "headline_dedup.api.app:create_app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
            "--workers", str(API_WORKERS)]
    proc = spawn(bench, args, "api.log")
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return base, proc
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"the API did not start; see {bench.tmp / 'api.log'}")


@contextlib.contextmanager
def headlines_up(workers: int, prefix: str, timeout: float = 120) -> Iterator[str]:
    """A `headlines up` of its own (embedded Redis, no HEADLINES_ settings of the caller's) in a temporary
    folder; yields the API's base URL once it answers, and stops everything after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("HEADLINES_")}
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        up = procs.python("headline_dedup.cli", "up", "--port", str(port), "--workers", str(workers),
                          cwd=Path(folder), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + timeout
            while not _answers(base):
                if up.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"`headlines up` did not answer on port {port}")
                time.sleep(0.2)
            yield base
        finally:
            procs.stop(up)


def _answers(base: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    return False


def stop_all(children: list[subprocess.Popen[bytes]]) -> None:
    procs.stop(children)
