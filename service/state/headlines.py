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


def rows(r: redis.Redis, keys: Keys, ids: list[str]) -> list[Row | None]:
    """Each id's stored headline (None when there is none), in one round trip."""
    commands = Commands()
    handles = [commands.call("HMGET", keys.headline(hid), Headline.TITLE, Headline.SOURCE, Headline.PUBLISHED,
                             Headline.STATUS) for hid in ids]
    replies = commands.run(r)
    out: list[Row | None] = []
    for hid, handle in zip(ids, handles, strict=True):
        title, source, published, status = replies[handle]
        out.append(Row(hid, title.decode(), (source or b"").decode(), records.decode_time(published),
                       Status.of(status or None)) if title else None)
    return out


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
