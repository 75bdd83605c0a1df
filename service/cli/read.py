"""`headlines lookup` and `headlines show`: reading stories."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from headline_dedup.cli.common import RedisUrl, open_context, out
from headline_dedup.intake import check_title, parse_time, partition_of
from headline_dedup.store import get_cluster


def lookup(
    title: Annotated[str, typer.Argument(help="The headline to look up.")],
    published_at: Annotated[str | None, typer.Option(help="ISO 8601 time to look up at (default: now).")] = None,
    partition: Annotated[str | None, typer.Option(help="With partition_by: field, the partition to look in.")] = None,
    redis_url: RedisUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Which story TITLE would join (stores nothing)."""
    from headline_dedup.pipeline import lookup as lookup_title  # on use: the only reader that needs the models

    ctx = open_context(redis_url)
    published = parse_time(published_at) if published_at else None
    clean = check_title(title, ctx.settings)
    result = lookup_title(ctx.redis, ctx.engine, clean, published, partition_of(ctx.settings, clean, partition))
    if as_json:
        ctx.print_json(result.__dict__)
        return
    if result.cluster_id is None:
        out.print(f"no story yet (best score {result.score:.3f}): it would open a new one")
        return
    dup = f", duplicate of headline {result.duplicate_of}" if result.duplicate_of else ""
    out.print(f"story {result.cluster_id} (score {result.score:.3f}{dup})")


def show(
    cluster_id: Annotated[str, typer.Argument(help="The story (cluster) id.")],
    limit: Annotated[int, typer.Option(help="Headlines to list.", min=1, max=10_000)] = 50,
    redis_url: RedisUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A story with its headlines."""
    ctx = open_context(redis_url)
    cluster = get_cluster(ctx.redis, ctx.engine, cluster_id, limit=limit)
    if as_json:
        ctx.print_json(cluster)
        return
    moved = f"  (merged into {cluster['merged_into']})" if "merged_into" in cluster else ""
    out.print(f"[bold]story {cluster['cluster_id']}[/bold]: {cluster['title']}{moved}")
    out.print(f"{cluster['size']} headlines, {cluster['first_seen']} .. {cluster['last_seen']}")
    table = Table("id", "published", "source", "title")
    for h in cluster["headlines"]:
        table.add_row(h["id"], h["published_at"], h["source"] or "", h["title"])
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command()(lookup)
    app.command()(show)
