"""`headlines up`: Redis (configured, or embedded), the API and N workers, supervised; Ctrl-C stops all.

The order matters: the data folder is claimed before anything starts (a second `up` on it refuses and
touches nothing), a configured Redis must answer (never a quiet switch to an embedded one), and on the
way out everything gets SIGTERM at once and one grace period (service/procs.py), so `up` returns within
about 10 s whatever Redis is doing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import httpx
import redis
import typer

from headline_dedup import procs
from headline_dedup.cli.common import RedisUrl, console
from headline_dedup.config import Settings, build_settings
from headline_dedup.embedded import CONFIGURED_WAIT, EmbeddedRedis, connect, ensure_redis, shown
from headline_dedup.engine import Engine, engine_for
from headline_dedup.errors import HeadlineError, RedisUnavailableError
from headline_dedup.instance import Claim
from headline_dedup.procs import Supervised
from headline_dedup.queue import recover_dead_worker, requeue_stale

JANITOR_EVERY = 30.0
# How often the supervisor looks at its children; a dead embedded Redis is back within about this
# plus its start (an AOF of a few MB loads in well under a second).
TICK = 0.25


def up(
    port: Annotated[int, typer.Option(help="HTTP port of the API.")] = 8000,
    host: Annotated[str, typer.Option(help="Interface the API listens on.")] = "127.0.0.1",
    workers: Annotated[int, typer.Option(help="RQ workers to run.", min=1, max=64)] = 2,
    api_workers: Annotated[int, typer.Option(help="API processes (uvicorn workers) sharing the port.",
                                             min=1, max=64)] = 2,
    wait_for_redis: Annotated[float, typer.Option(help="Seconds to wait for a configured Redis to answer.",
                                                  min=0, max=3600)] = CONFIGURED_WAIT,
    redis_url: RedisUrl = None,
) -> None:
    """Start everything: Redis (embedded when none is configured), the API and N workers, supervised."""
    settings = build_settings({"redis_url": redis_url}, strict_env=True)
    _warn_exposure(host, settings)
    claim = Claim(settings.data_dir).acquire()
    server: EmbeddedRedis | None = None
    children: list[Supervised] = []
    try:
        url, server = ensure_redis(settings, wait_for_redis, flag=redis_url)
        claim.record(url)
        where = (f"embedded Redis at {shown(url)} (data in {Path(settings.data_dir).resolve()})" if server
                 else f"{shown(url)} (configured)")
        console.print(f"[green]Redis:[/green] {where}")
        env = {**os.environ, "REDIS_URL": url}
        api = [sys.executable, "-m", "uvicorn", "--factory", "headline_dedup.api.app:create_app", "--host", host,
               "--port", str(port), "--log-level", "warning",
               # One process serves about 1,300 GETs/s on a 2-core VM; two, 1,800.
               "--workers", str(api_workers)]
        worker = [sys.executable, "-m", "headline_dedup.workers"]
        children = [Supervised.command("api", api, env)]
        children += [Supervised.command(f"worker {i + 1}", worker, env) for i in range(workers)]
        stop = _stop_on_signals()
        for child in children:
            child.start()
        _wait_for_api(f"http://{host}:{port}/healthz", children[0], stop)
        console.print(f"[green]API:[/green] http://{host}:{port} (docs at /docs), {workers} workers. "
                      "Ctrl-C stops.")
        _supervise(children, server, build_settings({"redis_url": url}), stop)
    finally:
        procs.stop([child.process for child in children])
        if server:
            server.stop()
        claim.release()
        console.print("stopped")


LOOPBACK = ("127.", "::1", "localhost")


def _warn_exposure(host: str, settings: Settings) -> None:
    # Anyone who can reach another interface could submit headlines: say so before it happens.
    if not host.startswith(LOOPBACK) and not settings.api_token.get_secret_value():
        console.print(f"[yellow]warning: the API listens on {host}, beyond this machine, and no api_token is set:"
                      " anyone who reaches it can submit headlines (set HEADLINES_API_TOKEN)[/]")


def _stop_on_signals() -> dict[str, bool]:
    stop = {"now": False}
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.update(now=True))
    return stop


def _wait_for_api(url: str, api: Supervised, stop: dict[str, bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop["now"]:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        if not api.alive():
            code = api.process.returncode if api.process else None
            raise HeadlineError(f"the API exited with status {code} while starting")
        time.sleep(0.2)
    if not stop["now"]:
        raise HeadlineError(f"the API did not answer at {url} within {timeout:.0f}s")


def _supervise(children: list[Supervised], server: EmbeddedRedis | None, settings: Settings,
               stop: dict[str, bool]) -> None:
    engine = engine_for(settings)
    r = connect(settings.redis_url, settings.redis_cluster)
    last_janitor = time.monotonic()
    report = lambda text: console.print(f"[yellow]{text}[/]")  # noqa: E731
    unrecovered: list[DeadWorker] = []
    while not stop["now"]:
        time.sleep(TICK)
        if stop["now"]:
            break
        _revive(server)
        for child in children:
            dead = child.check(report)
            if dead is not None and child.name.startswith("worker"):
                unrecovered.append(DeadWorker(dead))
        unrecovered = recover(r, engine, unrecovered)
        if time.monotonic() - last_janitor > JANITOR_EVERY:
            last_janitor = time.monotonic()
            with contextlib.suppress(redis.RedisError):
                moved = requeue_stale(r, engine)
                if moved:
                    console.print(f"[yellow]janitor: re-enqueued {moved} headline(s) that waited too long[/]")


def _revive(server: EmbeddedRedis | None) -> None:
    """The embedded Redis is supervised like the rest: restarted, from its append-only file, when it dies."""
    if server is None or server.process is None or server.process.poll() is None:
        return
    console.print(f"[yellow]embedded Redis exited with {server.process.returncode}; restarting[/]")
    try:
        server.revive()
    except RedisUnavailableError as exc:
        console.print(f"[yellow]{exc}; trying again[/]")


@dataclass
class DeadWorker:
    """A worker child that died, its batch not yet enqueued again."""

    pid: int
    died: float = field(default_factory=time.monotonic)
    tries: int = 0


def recover(r: redis.Redis, engine: Engine, dead: list[DeadWorker]) -> list[DeadWorker]:
    """Enqueue again the batch each dead worker was placing; returns those to try again on the next tick.

    Kept, not dropped, when Redis does not answer: a worker often dies with the Redis (the same
    SIGKILL, the same crash), and one try then would leave its batch to the janitor, `requeue_after`
    (300 s) later. The supervisor revives an embedded Redis within about a second. A tick stops at the
    first failure: the others would wait for the same Redis, and the supervisor has children to watch.
    """
    for i, worker in enumerate(dead):
        if not _recovered(r, engine, worker):
            return dead[i:]
    return []


def _recovered(r: redis.Redis, engine: Engine, worker: DeadWorker) -> bool:
    """True when done with `worker`: its batch is enqueued again (or it had none), or left to the janitor."""
    worker.tries += 1
    try:
        moved = recover_dead_worker(r, engine, worker.pid)
    except Exception as exc:
        return _gave_up(engine, worker, exc)
    if moved:
        console.print(f"[yellow]re-enqueued the {moved} headline(s) the dead worker {worker.pid} was placing[/]")
    return True


def _gave_up(engine: Engine, worker: DeadWorker, exc: Exception) -> bool:
    # Said once, not every tick: Redis may be away for minutes. Not lost either way: the headlines
    # are still queued, and once `requeue_after` has passed since the death the janitor enqueues them.
    if worker.tries == 1:
        console.print(f"[yellow]could not re-enqueue the dead worker {worker.pid}'s batch now ({exc!r}); "
                      "trying again each tick[/]")
    if time.monotonic() - worker.died < engine.settings.requeue_after:
        return False
    console.print(f"[yellow]dead worker {worker.pid}: Redis did not answer for {engine.settings.requeue_after} s; "
                  "its batch is left to the janitor[/]")
    return True


def register(app: typer.Typer) -> None:
    app.command()(up)
