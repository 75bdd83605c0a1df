"""`headlines up` (Redis + API + workers, supervised) and `headlines worker`."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import redis
import typer
from rq import SimpleWorker

from headline_dedup.cli.common import RedisUrl, console, open_context
from headline_dedup.config import Settings, build_settings, get_settings
from headline_dedup.embedded import _die_with_parent, connect, ensure_redis, resolve_url, write_url_file
from headline_dedup.engine import Engine, engine_for
from headline_dedup.errors import HeadlineError
from headline_dedup.queue import get_queue, recover_dead_worker, requeue_stale
from headline_dedup.urls import masked

JANITOR_EVERY = 30.0
REDIS_RETRY_SECONDS = 1.0


def run_worker(burst: bool = False, redis_url: str | None = None) -> None:
    """One RQ worker on the configured queue, in this process."""
    settings = build_settings({"redis_url": redis_url}) if redis_url else get_settings()
    r = connect(resolve_url(settings))
    # Load the models (and their imports) now, not in the first batch: a worker exists to place headlines,
    # and the first batch should not wait a second or two behind the lock for scikit-learn to import.
    engine_for(settings).warm()
    import headline_dedup.workers.jobs  # noqa: F401  (RQ would import it at the first job)

    while True:
        try:
            # SimpleWorker runs jobs in-process: no fork per job. A job is a whole batch, and the worker
            # keeps its MinHash permutations and vectoriser warm between batches.
            worker = SimpleWorker([get_queue(r, engine_for(settings))], connection=r)
            worker.work(burst=burst, logging_level="WARNING", with_scheduler=False)
            return
        except redis.ConnectionError as exc:
            # RQ rides out an outage while waiting for a job, but not while starting or finishing one.
            # Waiting here keeps a Redis restart from turning into a crash loop of workers.
            console.print(f"[yellow]worker: Redis unavailable ({exc}); retrying in {REDIS_RETRY_SECONDS:.0f}s[/]")
            time.sleep(REDIS_RETRY_SECONDS)


def worker(
    burst: Annotated[bool, typer.Option("--burst", help="Exit when the queue is empty.")] = False,
    redis_url: RedisUrl = None,
) -> None:
    """Run one RQ worker that places queued headlines in stories."""
    run_worker(burst=burst, redis_url=redis_url)


class Child:
    """A supervised child process, restarted when it dies."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name, self.args, self.env = name, args, env
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def start(self) -> None:
        self.process = subprocess.Popen(self.args, env=self.env, preexec_fn=_die_with_parent)

    def check(self) -> int | None:
        """Restart the process if it died; returns the dead process's pid."""
        if self.process is None or self.process.poll() is None:
            return None
        dead = self.process.pid
        self.restarts += 1
        console.print(f"[yellow]{self.name} exited with {self.process.returncode}; restarting[/]")
        self.start()
        return dead

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def up(
    port: Annotated[int, typer.Option(help="HTTP port of the API.")] = 8000,
    host: Annotated[str, typer.Option(help="Interface the API listens on.")] = "127.0.0.1",
    workers: Annotated[int, typer.Option(help="RQ workers to run.", min=1, max=64)] = 2,
    api_workers: Annotated[int, typer.Option(help="API processes (uvicorn workers) sharing the port.",
                                             min=1, max=64)] = 2,
    redis_url: RedisUrl = None,
) -> None:
    """Start everything: Redis (embedded when none answers), the API and N workers, supervised."""
    settings = build_settings({"redis_url": redis_url})
    _warn_exposure(host, settings)
    url, server = ensure_redis(settings)
    where = f"embedded Redis at {masked(url)} (data in {Path(settings.data_dir).resolve()})" if server else masked(url)
    console.print(f"[green]Redis:[/green] {where}")
    url_file = write_url_file(settings.data_dir, url)
    env = {**os.environ, "REDIS_URL": url}
    children = [Child("api", [sys.executable, "-m", "uvicorn", "--factory", "headline_dedup.api.app:create_app",
                              "--host", host, "--port", str(port), "--log-level", "warning",
                              # One process serves about 1,300 GETs/s on a 2-core VM; two, 1,800.
                              "--workers", str(api_workers)], env)]
    worker = [sys.executable, "-m", "headline_dedup.workers"]
    children += [Child(f"worker {i + 1}", worker, env) for i in range(workers)]
    try:
        for child in children:
            child.start()
        _wait_for_api(f"http://{host}:{port}/healthz", children[0])
        console.print(f"[green]API:[/green] http://{host}:{port} (docs at /docs), {workers} workers. "
                      "Ctrl-C stops.")
        _supervise(children, build_settings({"redis_url": url}))
    finally:
        for child in children:
            child.stop()
        if server:
            server.stop()
        with contextlib.suppress(OSError):
            url_file.unlink()
        console.print("stopped")


LOOPBACK = ("127.", "::1", "localhost")


def _warn_exposure(host: str, settings: Settings) -> None:
    # Anyone who can reach another interface could submit headlines: say so before it happens.
    if not host.startswith(LOOPBACK) and not settings.api_token.get_secret_value():
        console.print(f"[yellow]warning: the API listens on {host}, beyond this machine, and no api_token is set:"
                      " anyone who reaches it can submit headlines (set HEADLINES_API_TOKEN)[/]")


def _wait_for_api(url: str, api: Child, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        if api.process is not None and api.process.poll() is not None:
            raise HeadlineError(f"the API exited with status {api.process.returncode} while starting")
        time.sleep(0.2)
    raise HeadlineError(f"the API did not answer at {url} within {timeout:.0f}s")


def _supervise(children: list[Child], settings: Settings) -> None:
    engine = engine_for(settings)
    r = connect(settings.redis_url)
    last_janitor = time.monotonic()
    stop = {"now": False}
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.update(now=True))
    while not stop["now"]:
        time.sleep(0.5)
        if stop["now"]:
            break
        for child in children:
            dead = child.check()
            if dead is not None and child.name.startswith("worker"):
                _recover(r, engine, dead)
        if time.monotonic() - last_janitor > JANITOR_EVERY:
            last_janitor = time.monotonic()
            with contextlib.suppress(Exception):
                moved = requeue_stale(r, engine)
                if moved:
                    console.print(f"[yellow]janitor: re-enqueued {moved} headlines that waited too long[/]")


def _recover(r: redis.Redis, engine: Engine, pid: int) -> None:
    try:
        moved = recover_dead_worker(r, engine, pid)
    except Exception as exc:
        # Not lost: the headlines are still queued, and the janitor or RQ's own cleanup retries them.
        console.print(f"[yellow]could not re-enqueue the dead worker's batch now ({exc!r})[/]")
        return
    if moved:
        console.print(f"[yellow]re-enqueued the {moved} headlines the dead worker was placing[/]")


def janitor(
    every: Annotated[float, typer.Option(help="Seconds between passes.", min=1)] = JANITOR_EVERY,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    redis_url: RedisUrl = None,
) -> None:
    """Enqueue again every headline queued longer than `requeue_after` (what `headlines up` does by
    itself; run this beside bare workers, as docker-compose.yml does)."""
    ctx = open_context(redis_url)
    while True:
        try:
            moved = requeue_stale(ctx.redis, ctx.engine)
        except redis.RedisError as exc:
            console.print(f"[yellow]janitor: Redis unavailable ({exc}); trying again[/]")
            moved = 0
        if moved or once:
            console.print(f"janitor: re-enqueued {moved} headlines that waited too long")
        if once:
            return
        time.sleep(every)


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(worker)
    app.command()(janitor)
