"""`headlines evaluate`: replay a labelled stream through the real queue and workers, and score it.

Same code path and same config as production: headlines are read by the same file reader (which ignores
the `story` column), submitted and enqueued as `ingest` does, and placed by N real worker processes.
Only the keyspace (namespace) and the queue are fresh, so a running service is not disturbed.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import time
import uuid
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rq import Queue, Worker
from rq.job import Job
from rq.results import Result

from headline_dedup import procs
from headline_dedup.cli.common import Context, RedisUrl, console, out
from headline_dedup.cli.data import ingest_file, wait_for, wait_placed
from headline_dedup.config import build_settings, env_name
from headline_dedup.embedded import EmbeddedRedis, Located, answers, connect, locate, shown
from headline_dedup.engine import Engine
from headline_dedup.errors import BadInputError, RedisUnavailableError
from headline_dedup.files import Rejected, open_text
from headline_dedup.queue import get_queue
from headline_dedup.scoring import score
from headline_dedup.store import export_rows


def read_gold(path: Path) -> dict[str, str]:
    with open_text(path) as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "story" not in reader.fieldnames or "id" not in reader.fieldnames:
            raise BadInputError(f"{path} needs columns id,title,...,story (story: the gold label)")
        return {row["id"].strip(): row["story"] for row in reader}


def start_workers(url: str, queue: str, n: int, stack: ExitStack,
                  overrides: Mapping[str, object] | None = None) -> None:
    env = {**os.environ, "REDIS_URL": url, "HEADLINES_QUEUE_NAME": queue}
    env.update({env_name(key): str(value) for key, value in (overrides or {}).items() if value is not None})
    children = stack.enter_context(procs.Children())
    for _ in range(n):
        children.add(procs.python("headline_dedup.workers", env=env))


def wait_for_workers(ctx: Context, queue: Queue, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(Worker.all(queue=queue)) < n:
        if time.monotonic() > deadline:
            raise BadInputError(f"{n} workers did not start within {timeout:.0f}s")
        time.sleep(0.1)


def wipe(ctx: Context) -> None:
    """Delete the evaluation's keys and queue."""
    keys = list(ctx.redis.scan_iter(match=ctx.engine.keys.pattern(), count=5000))
    for start in range(0, len(keys), 5000):
        ctx.redis.unlink(*keys[start : start + 5000])
    queue = get_queue(ctx.redis, ctx.engine)
    # Queue.delete leaves the job registries (finished, failed...) behind: one key per run otherwise.
    registries = [queue.started_job_registry, queue.finished_job_registry, queue.failed_job_registry,
                  queue.deferred_job_registry, queue.scheduled_job_registry, queue.canceled_job_registry]
    # Finished jobs and their results outlive the registries by their TTL (minutes): delete them now.
    jobs = [job_id for registry in registries for job_id in registry.get_job_ids()]
    queue.delete(delete_jobs=True)
    done = [key for job_id in jobs for key in (Job.key_for(job_id), Result.get_key(job_id))]
    queue.connection.unlink(*[registry.key for registry in registries], *done)


def evaluation_url(redis_url: str | None, stack: ExitStack) -> str:
    """The Redis to evaluate in: the configured one (an error when it does not answer), else the one of a
    running `headlines up`, else an embedded one for the stack's life."""
    settings = build_settings({"redis_url": redis_url})
    try:
        located = locate(settings, redis_url)
    except RedisUnavailableError:
        located = None
    if located is not None:
        if not answers(located.url):
            raise RedisUnavailableError(f"Redis {located.describe()} does not answer")
        return located.url
    server = EmbeddedRedis(stack.enter_context(tempfile.TemporaryDirectory()), persist=False).start()
    stack.callback(server.stop)
    return server.url


def run_evaluation(path: Path, workers: int, redis_url: str | None, keep: bool = False,
                   overrides: Mapping[str, object] | None = None, live: int | None = None) -> dict[str, Any]:
    """Score one replay of `path`; `overrides` (setting -> value) apply to this run's workers too.

    `live`: send the file as a live feed does, this many headlines at a time, each chunk placed before
    the next is sent (the default queues the whole file at once, so nothing closes before it is read).
    """
    gold = read_gold(path)
    run = uuid.uuid4().hex[:8]
    with ExitStack() as stack:
        url = evaluation_url(redis_url, stack)
        console.print(f"[dim]Redis: {shown(url)}[/]")
        settings = build_settings({**(overrides or {}), "redis_url": url, "namespace": f"eval-{run}",
                                   "queue_name": f"eval-{run}"})
        ctx = Context(settings, connect(url, settings.redis_cluster), Engine(settings), Located(url, "evaluation"))
        if not keep:
            stack.callback(wipe, ctx)
        start_workers(url, settings.queue_name, workers, stack, overrides)
        wait_for_workers(ctx, get_queue(ctx.redis, ctx.engine), workers)
        started = time.monotonic()
        if live:
            ids, rejected = _send_live(ctx, path, live, len(gold))
        else:
            ids, rejected = ingest_file(ctx, path)
            wait_for(ctx, ids)
        elapsed = time.monotonic() - started
        rows = list(export_rows(ctx.redis, ctx.engine))
    pred = {hid: cid for hid, cid, _, _ in rows}
    result: dict[str, Any] = score(gold, pred).as_dict()
    result.update(
        headlines=len(rows), rejected=len(rejected), workers=workers, seconds=round(elapsed, 2),
        headlines_per_second=round(len(rows) / elapsed, 1) if elapsed else 0.0,
        duplicate_share=sum(1 for _, _, d, _ in rows if d) / len(rows) if rows else 0.0,
        namespace=settings.namespace if keep else None, live=live, redis=shown(url),
    )
    return result


def _send_live(ctx: Context, path: Path, chunk: int, total: int) -> tuple[list[str], list[Rejected]]:
    columns = (TextColumn("live feed"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("live", total=total)

        def placed(ids: list[str]) -> None:
            # A short poll: every chunk waits for its last headline, and 0.25 s each adds up over a file.
            wait_placed(ctx, ids, poll=0.02)
            bar.advance(task, len(ids))

        return ingest_file(ctx, path, chunk_size=chunk, after_chunk=placed)


def evaluate(
    file: Annotated[Path, typer.Argument(help="Labelled CSV: id,title,source,published_at,story (.gz: read "
                                                   "gzip-compressed).",
                                         exists=True, dir_okay=False, readable=True)],
    workers: Annotated[int, typer.Option(help="Worker processes to run.", min=1, max=32)] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the evaluation's keyspace for inspection.")] = False,
    live: Annotated[int | None, typer.Option(
        "--live", metavar="N", min=1, max=100_000,
        help="Send the file as a live feed: N headlines at a time, each chunk placed before the next.")] = None,
    redis_url: RedisUrl = None,
) -> None:
    """Replay a labelled stream through the real queue and workers and score the stories.

    Prints B-cubed precision/recall/F1, pairwise F1, adjusted Rand index, clusters, the share of
    duplicates and headlines per second. `story` is used only for scoring.
    """
    result = run_evaluation(file, workers, redis_url, keep, live=live)
    if as_json:
        out.print_json(json.dumps(result))
        return
    fed = f", live {live} at a time" if live else ""
    table = Table("measure", "value", title=f"{file.name}, {workers} workers{fed}")
    rows = [("B-cubed F1", "bcubed_f1"), ("B-cubed precision", "bcubed_p"), ("B-cubed recall", "bcubed_r"),
            ("pairwise F1", "pair_f1"), ("adjusted Rand index", "ari"), ("duplicate share", "duplicate_share")]
    for name, key in rows:
        table.add_row(name, f"{result[key]:.4f}")
    table.add_row("clusters (gold)", f"{result['pred_clusters']} ({result['gold_clusters']})")
    table.add_row("headlines", str(result["headlines"]))
    table.add_row("headlines per second", f"{result['headlines_per_second']:.0f}")
    out.print(table)
    if result["rejected"]:
        console.print(f"[yellow]{result['rejected']} lines were rejected and not scored as placed[/]")


def register(app: typer.Typer) -> None:
    app.command()(evaluate)
