"""Upkeep of window-only state: which stories are open around a time, and closing what left the window."""

from __future__ import annotations

from dataclasses import dataclass, replace

import redis

from headline_dedup.eventtime import Watermark, watermark
from headline_dedup.state.commands import Commands
from headline_dedup.state.keys import Keys
from headline_dedup.state.records import Totals
from headline_dedup.state.snapshot import packed_centroids

# Stories closed per pass at most: a pass runs after every batch, so a backlog drains over a few.
CLOSE_LIMIT = 5000


@dataclass
class Advanced:
    """What `advance` found: the new watermark, the buckets that hold window state, the published_at of
    the oldest headline not yet placed (None: none waits), and its writes, which `close` sends."""

    mark: Watermark
    occupied: set[int]
    oldest_unplaced: float | None
    writes: Commands


def advance(r: redis.Redis, keys: Keys, published: list[float], lateness: float, window: float) -> Advanced:
    """Raise the newest published_at placed to include `published` (a batch just placed, under the lock),
    count those published before the watermark already reached (too late), and find the new watermark
    (service.eventtime; its mark never falls): one round trip, its writes left for `close` to send."""
    commands = Commands()
    got_newest = commands.call("GET", keys.newest)
    got_mark = commands.call("GET", keys.watermark)
    got_buckets = commands.call("ZRANGE", keys.buckets, 0, -1)
    got_oldest = commands.call("ZRANGE", keys.unplaced, 0, 0, "WITHSCORES")
    replies = commands.run(r)
    before = float(replies[got_newest]) if replies[got_newest] is not None else None
    newest = max(published) if before is None else max(before, *published)
    mark_before = _mark_before(replies[got_mark], before, lateness)
    occupied = {int(b) for b in replies[got_buckets]}
    found = watermark(newest, lateness, window, occupied)
    if mark_before is not None and found.mark < mark_before:
        found = replace(found, mark=mark_before)
    commands = Commands()
    if newest != before:
        commands.call("SET", keys.newest, repr(newest))
    if found.mark != mark_before:
        commands.call("SET", keys.watermark, repr(found.mark))
    if mark_before is not None:
        late = sum(1 for p in published if p < mark_before)
        if late:
            commands.call("HINCRBY", keys.stats, Totals.TOO_LATE, late)
    oldest = replies[got_oldest]
    return Advanced(found, occupied, float(oldest[1]) if oldest else None, commands)


def _mark_before(raw: bytes | None, newest: float | None, lateness: float) -> float | None:
    if raw is not None:
        return float(raw)
    # A store written before the watermark was kept has only the newest: its watermark was newest - lateness.
    return None if newest is None else newest - lateness


def close(r: redis.Redis, keys: Keys, cutoff: float, keep_bucket: int, writes: Commands | None = None) -> None:
    """Drop the centroids of stories last seen at or before `cutoff`, and every bucket before `keep_bucket`,
    in one write with `writes` (advance's, say) if given."""
    writes = writes if writes is not None else Commands()
    commands = Commands()
    closed = commands.call("ZRANGEBYSCORE", keys.open_clusters, "-inf", repr(cutoff), "LIMIT", 0, CLOSE_LIMIT)
    old = commands.call("ZRANGEBYSCORE", keys.buckets, "-inf", f"({keep_bucket}")
    replies = commands.run(r)
    closed_ids = [c.decode() for c in replies[closed]]
    buckets = [int(b) for b in replies[old]]
    writes.delete([keys.centroid(c) for c in closed_ids])
    writes.spread("ZREM", keys.open_clusters, closed_ids)
    writes.delete([key for b in buckets for key in keys.bucket_keys(b)])
    writes.spread("ZREM", keys.buckets, [str(b) for b in buckets])
    writes.run(r)


def open_around(r: redis.Redis, keys: Keys, low: float, high: float) -> dict[str, bytes]:
    """Packed centroids of the open stories last seen strictly between low and high."""
    ids = [c.decode() for c in r.zrangebyscore(keys.open_clusters, f"({low!r}", f"({high!r}")]
    return packed_centroids(r, keys, ids)


def totals(r: redis.Redis, keys: Keys, partitions: list[str]) -> dict[str, int]:
    """The running totals (Totals fields): one hash on one Redis, the sum of each partition's on a cluster."""
    found: dict[str, int] = {}
    for hash_key in sorted({keys.part(p).stats for p in partitions}):
        for name, value in r.hgetall(hash_key).items():
            found[name.decode()] = found.get(name.decode(), 0) + int(value)
    return found
