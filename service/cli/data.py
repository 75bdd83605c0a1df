"""`headlines ingest` and `headlines export`: files in, assignments out."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rq import Worker

from headline_dedup.cli.common import Context, RedisUrl, console, count, open_context
from headline_dedup.errors import BadInputError
from headline_dedup.files import STDIN, Rejected, read_headlines, stdin_file
from headline_dedup.queue import enqueue_ids, get_queue
from headline_dedup.state.records import Status
from headline_dedup.store import EXPORT_FIELDS, NewHeadline, export_records, statuses, submit

CHUNK = 5000


def ingest_file(ctx: Context, path: Path, chunk_size: int = CHUNK,
                after_chunk: Callable[[list[str]], None] | None = None,
                kind: str | None = None) -> tuple[list[str], list[Rejected]]:
    """Store and enqueue every good record, `chunk_size` at a time, calling `after_chunk` with each
    chunk's new ids (a live feed waits there for the chunk to be placed); returns (ids queued, rejected)."""
    queued: list[str] = []
    rejected: list[Rejected] = []
    chunk: list[NewHeadline] = []

    def flush() -> None:
        new = submit(ctx.redis, ctx.engine, chunk)
        partition = {h.id: h.partition for h in chunk}
        enqueue_ids(ctx.redis, ctx.engine, new, [partition[hid] for hid in new])
        queued.extend(new)
        chunk.clear()
        if after_chunk:
            after_chunk(new)

    for record in read_headlines(path, ctx.settings, kind):
        if isinstance(record, Rejected):
            rejected.append(record)
        else:
            chunk.append(record)
            if len(chunk) >= chunk_size:
                flush()
    if chunk:
        flush()
    return queued, rejected


def wait_for(ctx: Context, ids: list[str], poll: float = 0.25) -> float:
    """Block until every id is done (or failed), with a progress bar; returns seconds waited."""
    start = time.monotonic()
    columns = (TextColumn("placing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("placing", total=len(ids))
        wait_placed(ctx, ids, poll, lambda left: bar.update(task, completed=len(ids) - left))
    return time.monotonic() - start


def wait_placed(ctx: Context, ids: list[str], poll: float = 0.25,
                progress: Callable[[int], None] | None = None) -> None:
    """Block until every id is done (or failed); `progress` hears how many are left after each poll."""
    start = time.monotonic()
    remaining = list(ids)
    warned = False
    while remaining:
        remaining = _still_queued(ctx, remaining)
        if progress:
            progress(len(remaining))
        idle = remaining and not warned and time.monotonic() - start > 3
        if idle and not Worker.all(queue=get_queue(ctx.redis, ctx.engine)):
            console.print("[yellow]no worker is running: start `headlines up` or `headlines worker`[/]")
            warned = True
        if remaining:
            time.sleep(poll)


# Ids whose status one poll reads, oldest first: batches are placed in enqueue order, so the oldest waiting
# ids are the ones that change, and reading all 35,000 of a large file four times a second took CPU from the
# workers on a small machine.
POLL_IDS = 2000


def _still_queued(ctx: Context, ids: list[str]) -> list[str]:
    """The ids not yet done or failed, read a chunk at a time until a chunk still has some waiting."""
    for start in range(0, len(ids), POLL_IDS):
        head = ids[start : start + POLL_IDS]
        found = statuses(ctx.redis, ctx.engine, head)
        waiting = [hid for hid, st in zip(head, found, strict=True) if st not in (Status.DONE, Status.FAILED)]
        if waiting:
            return waiting + ids[start + POLL_IDS :]
    return []


class InFormat(StrEnum):
    auto = "auto"
    csv = "csv"
    jsonl = "jsonl"


def ingest(
    file: Annotated[str, typer.Argument(help="CSV with header id,title[,source,published_at,partition], or JSON "
                                             "Lines; a name ending in .gz is read gzip-compressed; - reads "
                                             "standard input.", show_default=False)],
    fmt: Annotated[InFormat, typer.Option("--format", help="csv or jsonl; auto: a first line starting with '{' "
                                                          "is JSON Lines, else CSV with a header.")] = InFormat.auto,
    wait: Annotated[bool, typer.Option("--wait", help="Show progress and return when every headline is placed.")]
    = False,
    redis_url: RedisUrl = None,
) -> None:
    """Submit every headline of FILE (or standard input: -) to the queue, in batches. Bad lines are
    reported and skipped."""
    ctx = open_context(redis_url)
    started = time.monotonic()
    kind = None if fmt is InFormat.auto else fmt.value
    if file == STDIN:
        with stdin_file() as path:
            queued, rejected = ingest_file(ctx, path, kind=kind)
    else:
        queued, rejected = ingest_file(ctx, _readable(Path(file)), kind=kind)
    for bad in rejected[:20]:
        console.print(f"[red]line {bad.line}:[/red] {bad.reason}")
    if len(rejected) > 20:
        console.print(f"... and {count(len(rejected) - 20, 'more bad line')}")
    console.print(f"queued {count(len(queued), 'new headline')}"
                  + (f", rejected {count(len(rejected), 'bad line')}" if rejected else ""))
    if wait and queued:
        wait_for(ctx, queued)
        elapsed = time.monotonic() - started
        console.print(f"placed {count(len(queued), 'headline')} in {elapsed:.1f}s ({len(queued) / elapsed:.0f}/s)")
    if rejected:
        raise typer.Exit(1)


def _readable(path: Path) -> Path:
    if not path.exists():
        raise BadInputError(f"{path} does not exist")
    if not path.is_file():
        raise BadInputError(f"{path} is not a file")
    return path


class Format(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


DEFAULT_FIELDS = "id,cluster_id,duplicate_of"


def parse_fields(text: str) -> list[str]:
    """The comma-separated field names, checked against EXPORT_FIELDS."""
    fields = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [f for f in fields if f not in EXPORT_FIELDS]
    if unknown or not fields:
        what = f"unknown field(s) {', '.join(map(repr, unknown))}" if unknown else "no field named"
        raise BadInputError(f"--fields: {what}; valid fields: {','.join(EXPORT_FIELDS)}")
    if len(set(fields)) != len(fields):
        raise BadInputError(f"--fields names a field twice: {text}")
    return fields


def export(
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.jsonl,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    fields: Annotated[str, typer.Option("--fields", help=f"Comma-separated, in this order; any of "
                                                         f"{','.join(EXPORT_FIELDS)} (label: the story's human "
                                                         f"title, if set).")] = DEFAULT_FIELDS,
    redis_url: RedisUrl = None,
) -> None:
    """One line per headline, in arrival order: the --fields (default id, cluster_id, duplicate_of)."""
    names = parse_fields(fields)
    ctx = open_context(redis_url)
    stream = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if fmt is Format.csv:
            writer = csv.writer(stream)
            writer.writerow(names)
            for row in export_records(ctx.redis, ctx.engine, names):
                writer.writerow(["" if row[f] is None else row[f] for f in names])
        else:
            for row in export_records(ctx.redis, ctx.engine, names):
                stream.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if output:
            stream.close()


def register(app: typer.Typer) -> None:
    app.command()(ingest)
    app.command()(export)
