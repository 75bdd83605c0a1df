"""Headline records read and written in bulk: for placing a batch, moving stories, failing a batch."""

from __future__ import annotations

from typing import NamedTuple

import redis

from headline_dedup.state import records
from headline_dedup.state.commands import Commands
from headline_dedup.state.keys import Keys
from headline_dedup.state.records import Headline, Status
from headline_dedup.state.scripts import MARK_FAILED


class Row(NamedTuple):
    """A headline as placing reads it (a tuple: a batch builds hundreds, and a frozen dataclass is slow)."""

    id: str
    title: str
    source: str
    published: float
    status: Status | None
    accepted: float | None = None  # when it was (last) enqueued, if rows() was asked and it still waits


def rows(r: redis.Redis, keys: Keys, ids: list[str], accepted: bool = False) -> list[Row | None]:
    """Each id's stored headline (None when there is none), in one round trip; with `accepted`, also the
    time each was accepted (the queued set's score, set by submit and reset by the janitor when it
    re-enqueues one), which a placement reads for its latency figures before its write unqueues them."""
    commands = Commands()
    fields = [Headline.TITLE, Headline.SOURCE, Headline.PUBLISHED, Headline.STATUS]
    found = commands.each("HMGET", [(keys.headline(hid), fields) for hid in ids])
    queued = commands.spread("ZMSCORE", keys.queued, ids) if accepted else None
    replies = commands.run(r)
    times = replies[queued] if queued is not None else [None] * len(ids)
    out: list[Row | None] = []
    for hid, (title, source, published, status), at in zip(ids, replies[found], times, strict=True):
        out.append(Row(hid, title.decode(), (source or b"").decode(), records.decode_time(published),
                       Status.of(status or None), _score(at)) if title else None)
    return out


def _score(raw: bytes | float | None) -> float | None:
    # A missing member is Lua's nil (False) through a script, None through a cluster pipeline.
    return None if raw is None or raw is False else float(raw)


def placed_among(r: redis.Redis, keys: Keys, ids: list[str]) -> set[str]:
    """The ids of a batch of one partition (`keys`: Keys.part) that were placed already, e.g. by another
    run of a retried job. A headline waits in its partition's unplaced set until its placement is
    written, so one ZMSCORE in the partition's slot answers for all of them; only an id missing there
    (stored before that set existed, say) has its status read."""
    if not ids:
        return set()
    missing = [hid for hid, s in zip(ids, r.zmscore(keys.unplaced, ids), strict=True) if s is None]
    if not missing:
        return set()
    return {hid for hid, st in zip(missing, statuses(r, keys, missing), strict=True) if st is Status.DONE}


def statuses(r: redis.Redis, keys: Keys, ids: list[str]) -> list[Status | None]:
    """The status of each id, None when unknown, in one round trip."""
    commands = Commands()
    handles = [commands.call("HGET", keys.headline(hid), Headline.STATUS) for hid in ids]
    replies = commands.run(r)
    return [Status.of(replies[h] or None) for h in handles]


def mark_failed(r: redis.Redis, keys: Keys, ids: list[str]) -> int:
    """The batch's headlines still waiting read `failed`; those already placed keep their story. Returns
    how many it marked."""
    return int(MARK_FAILED(r, [keys.headline(hid) for hid in ids]))


def partitions(r: redis.Redis, keys: Keys, ids: list[str]) -> list[str]:
    """Each id's partition ('' for the default one, or for a headline that is not stored)."""
    commands = Commands()
    handles = [commands.call("HGET", keys.headline(hid), Headline.PARTITION) for hid in ids]
    replies = commands.run(r)
    return [(replies[h] or b"").decode() for h in handles]


def count(r: redis.Redis, keys: Keys) -> int:
    """How many headlines are stored."""
    return int(r.zcard(keys.ids) if keys.on_cluster else r.llen(keys.ids))


def arrivals(r: redis.Redis, keys: Keys, start: int, stop: int) -> list[str]:
    """Headline ids from position start to stop (inclusive) in arrival order."""
    raw = r.zrange(keys.ids, start, stop) if keys.on_cluster else r.lrange(keys.ids, start, stop)
    return [x.decode() for x in raw]
