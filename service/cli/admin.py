"""Admin commands: merge, split, label, undo, history, clusters, stats, requeue-failed.

They talk to Redis directly; the HTTP API has no way to change stories.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from headline_dedup import admin, history, overview
from headline_dedup.cli.common import RedisUrl, console, count, open_context, out
from headline_dedup.intake import parse_time

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def merge(
    target: Annotated[str, typer.Argument(help="The cluster that keeps the headlines.")],
    sources: Annotated[list[str], typer.Argument(help="Clusters whose headlines move into TARGET.")],
    redis_url: RedisUrl = None,
) -> None:
    """Move every headline of each SOURCE cluster into TARGET, atomically."""
    ctx = open_context(redis_url)
    action = admin.merge(ctx.redis, ctx.engine, target, sources)
    size = admin.size(ctx.redis, ctx.engine, target)
    out.print(f"merged {', '.join(sources)} into {target} (now {size} headlines); "
              f"action {action} (`headlines undo {action}` reverts it)")


def split(
    cluster: Annotated[str, typer.Argument(help="The cluster to split.")],
    headline_ids: Annotated[list[str], typer.Argument(help="Headlines to move into a new cluster.")],
    redis_url: RedisUrl = None,
) -> None:
    """Move the named headlines of CLUSTER into a new cluster."""
    ctx = open_context(redis_url)
    new, action = admin.split(ctx.redis, ctx.engine, cluster, headline_ids)
    out.print(f"moved {count(len(headline_ids), 'headline')} from {cluster} into new cluster {new}; action {action}")


def label(
    cluster: Annotated[str, typer.Argument(help="The cluster to label.")],
    text: Annotated[str, typer.Argument(help="The title to show for it from now on.")],
    redis_url: RedisUrl = None,
) -> None:
    """Give CLUSTER a human title that reads and exports use from now on."""
    ctx = open_context(redis_url)
    action = admin.label(ctx.redis, ctx.engine, cluster, text)
    out.print(f"cluster {cluster} is now titled {text!r}; action {action}")


def undo(
    action_id: Annotated[str, typer.Argument(help="The action id, from `headlines history`.")],
    redis_url: RedisUrl = None,
) -> None:
    """Revert a merge, split or label, if nothing has changed those clusters since."""
    ctx = open_context(redis_url)
    action = history.get(ctx.redis, ctx.engine, action_id)
    admin.undo(ctx.redis, ctx.engine, action_id)
    out.print(f"undid {action.kind} {action_id} (clusters {', '.join(action.clusters)})")


def history_command(
    limit: Annotated[int, typer.Option(help="Actions to list, newest first.", min=1, max=100_000)] = 50,
    redis_url: RedisUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Every admin action (merge, split, label, undo): what, which clusters, when."""
    ctx = open_context(redis_url)
    actions = history.recent(ctx.redis, ctx.engine, limit)
    if as_json:
        ctx.print_json([{k: v for k, v in a.__dict__.items() if k != "data"} for a in actions], "actions")
        return
    table = Table("action id", "when", "what", "clusters", "undone")
    for a in actions:
        table.add_row(a.id, a.at, a.kind, " ".join(a.clusters), "yes" if a.undone else "")
    out.print(table if actions else "no admin actions yet")


def clusters(
    top: Annotated[int, typer.Option(help="How many stories.", min=1, max=100_000)] = 20,
    since: Annotated[str | None, typer.Option(help="Only stories seen at or after this ISO 8601 date.")] = None,
    newest: Annotated[bool, typer.Option("--newest", help="Newest first instead of largest first.")] = False,
    redis_url: RedisUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """The largest (or newest) stories, with size and title."""
    ctx = open_context(redis_url)
    start = parse_time(since, "--since") if since else None
    rows = overview.list_clusters(ctx.redis, ctx.engine, top, start, "recent" if newest else "size")
    if as_json:
        ctx.print_json(rows, "clusters")
        return
    table = Table("cluster", "size", "last seen", "title")
    for row in rows:
        table.add_row(row["cluster_id"], str(row["size"]), row["last_seen"], row["title"])
    out.print(table if rows else "no stories yet")


def stats(redis_url: RedisUrl = None, as_json: JsonFlag = False) -> None:
    """Headlines, clusters, duplicates, queue depth, failed jobs, Redis memory."""
    ctx = open_context(redis_url)
    numbers = overview.stats(ctx.redis, ctx.engine)
    if as_json:
        ctx.print_json(numbers)
        return
    # No header row (the names say what each number is); memory once, as a person reads it (--json has bytes).
    table = Table(show_header=False)
    for key, value in numbers.items():
        if key != "redis_memory_bytes":
            table.add_row(key.replace("_", " "), str(value))
    out.print(table)


def requeue_failed(redis_url: RedisUrl = None) -> None:
    """Put every failed job back on the queue."""
    ctx = open_context(redis_url)
    moved = overview.requeue_failed(ctx.redis, ctx.engine)
    console.print(f"requeued {moved} failed jobs" if moved else "no failed jobs")


def register(app: typer.Typer) -> None:
    for command in (merge, split, label, undo, clusters, stats):
        app.command()(command)
    app.command("history")(history_command)
    app.command("requeue-failed")(requeue_failed)
