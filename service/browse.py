"""What the story browser shows: story lists with their sources, a story with duplicates under originals.

Built on the reads behind GET /clusters and GET /clusters/{id} (overview.page_clusters, store.get_cluster),
plus the two things a person wants that those leave out: which outlets ran a story, and which headlines
are copies of which. Reads only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis

from headline_dedup.engine import Engine
from headline_dedup.overview import page_clusters
from headline_dedup.state.records import Headline
from headline_dedup.store import get_cluster

# Sources are read from a story's first headlines only, so a page of huge stories stays a few round trips.
SOURCES_FROM = 50
# Headlines shown on a story page; the page says when a story has more.
STORY_PAGE = 500


def story_lists(r: redis.Redis, engine: Engine, limit: int) -> dict[str, Any]:
    """The newest and the largest live stories (`limit` of each), each row with its `sources`."""
    recent, total = page_clusters(r, engine, "recent", None, limit, 0)
    largest, _ = page_clusters(r, engine, "size", None, limit, 0)
    sources = _sources(r, engine, {row["cluster_id"] for row in recent + largest})
    for row in recent + largest:
        row["sources"] = sources.get(row["cluster_id"], [])
    return {"recent": recent, "largest": largest, "total": total, "after": last_event(r, engine)}


def last_event(r: redis.Redis, engine: Engine) -> str:
    """The newest change event's id ("0-0" when none): a page follows GET /events from there, so nothing
    placed between its rendering and its script connecting is missed."""
    newest = r.xrevrange(engine.keys.events, count=1)
    return str(newest[0][0].decode()) if newest else "0-0"


def _sources(r: redis.Redis, engine: Engine, cids: set[str]) -> dict[str, list[str]]:
    """Each story's distinct sources among its first SOURCES_FROM headlines, most frequent first."""
    order = sorted(cids)
    pipe = r.pipeline(transaction=False)
    for cid in order:
        pipe.lrange(engine.keys.members(cid), 0, SOURCES_FROM - 1)
    members = pipe.execute()
    pipe = r.pipeline(transaction=False)
    for ids in members:
        for hid in ids:
            pipe.hget(engine.keys.headline(hid.decode()), Headline.SOURCE)
    found = iter(pipe.execute())
    result: dict[str, list[str]] = {}
    for cid, ids in zip(order, members, strict=True):
        counts: dict[str, int] = {}
        for _ in ids:
            source = (next(found) or b"").decode()
            if source:
                counts[source] = counts.get(source, 0) + 1
        result[cid] = sorted(counts, key=lambda s: (-counts[s], s))
    return result


@dataclass
class Entry:
    """A headline of a story page and the duplicates of it on that page."""

    headline: dict[str, Any]
    duplicates: list[dict[str, Any]] = field(default_factory=list)


def story(r: redis.Redis, engine: Engine, cid: str, limit: int = STORY_PAGE) -> dict[str, Any]:
    """GET /clusters/{id}'s view of a story (NotFoundError when unknown) with `entries`: its headlines in
    order, each duplicate folded under the original it names."""
    view = get_cluster(r, engine, cid, limit=limit)
    pipe = r.pipeline(transaction=False)
    for h in view["headlines"]:
        pipe.hget(engine.keys.headline(h["id"]), Headline.DUPLICATE_OF)
    for h, original in zip(view["headlines"], pipe.execute(), strict=True):
        h["duplicate_of"] = original.decode() if original else None
    view["entries"] = fold(view["headlines"])
    view["after"] = last_event(r, engine)
    return view


def fold(headlines: list[dict[str, Any]]) -> list[Entry]:
    """Headlines in order, each duplicate under its original; a duplicate whose original is not among them
    (on a later page, or split away by an admin) stands on its own."""
    entries: dict[str, Entry] = {}
    ids = {h["id"] for h in headlines}
    for h in headlines:
        original = h.get("duplicate_of")
        if original and original in ids and original in entries:
            entries[original].duplicates.append(h)
        else:
            entries[h["id"]] = Entry(h)
    return list(entries.values())
