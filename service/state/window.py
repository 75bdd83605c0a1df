"""Upkeep of window-only state: which stories are open around a time, and closing what left the window."""

from __future__ import annotations

import redis

from headline_dedup.state.commands import Commands
from headline_dedup.state.keys import Keys
from headline_dedup.state.records import Totals
from headline_dedup.state.snapshot import packed_centroids

# Stories closed per pass at most: a pass runs after every batch, so a backlog drains over a few.
CLOSE_LIMIT = 5000


def oldest_unplaced(r: redis.Redis, keys: Keys) -> float | None:
    """published_at of the oldest headline stored but not yet placed."""
    oldest = r.zrange(keys.unplaced, 0, 0, withscores=True)
    return float(oldest[0][1]) if oldest else None


def advance(r: redis.Redis, keys: Keys, published: list[float], lateness: float) -> float:
    """Raise the newest published_at placed to include `published` (a batch just placed, under the lock)
    and count those that came later than `lateness` behind it; returns the newest placed."""
    raw = r.get(keys.newest)
    before = float(raw) if raw is not None else None
    newest = max(published) if before is None else max(before, *published)
    commands = Commands()
    if newest != before:
        commands.call("SET", keys.newest, repr(newest))
    if before is not None:
        late = sum(1 for p in published if p < before - lateness)
        if late:
            commands.call("HINCRBY", keys.stats, Totals.TOO_LATE, late)
    if len(commands):
        commands.run(r)
    return newest


def close(r: redis.Redis, keys: Keys, cutoff: float, keep_bucket: int) -> None:
    """Drop the centroids of stories last seen at or before `cutoff`, and every bucket before `keep_bucket`."""
    commands = Commands()
    closed = commands.call("ZRANGEBYSCORE", keys.open_clusters, "-inf", repr(cutoff), "LIMIT", 0, CLOSE_LIMIT)
    old = commands.call("ZRANGEBYSCORE", keys.buckets, "-inf", f"({keep_bucket}")
    replies = commands.run(r)
    closed_ids = [c.decode() for c in replies[closed]]
    buckets = [int(b) for b in replies[old]]
    commands = Commands()
    commands.delete([keys.centroid(c) for c in closed_ids])
    commands.spread("ZREM", keys.open_clusters, closed_ids)
    commands.delete([key for b in buckets for key in keys.bucket_keys(b)])
    commands.spread("ZREM", keys.buckets, [str(b) for b in buckets])
    commands.run(r)


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
