"""`headlines worker` and `headlines janitor` (`headlines up` is in cli/up.py)."""

from __future__ import annotations

import time
from typing import Annotated

import redis
import typer

from headline_dedup.cli.common import RedisUrl, console, open_context
from headline_dedup.cli.up import JANITOR_EVERY
from headline_dedup.queue import requeue_stale
from headline_dedup.workers.runner import run_worker


def worker(
    burst: Annotated[bool, typer.Option("--burst", help="Exit when the queue is empty.")] = False,
    redis_url: RedisUrl = None,
) -> None:
    """Run one RQ worker that places queued headlines in stories."""
    run_worker(burst=burst, redis_url=redis_url)


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
    app.command()(worker)
    app.command()(janitor)
