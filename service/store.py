"""Submitting headlines, and reading headlines and clusters back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import redis
import redis.asyncio

from headline_dedup import rcall
from headline_dedup.engine import Engine
from headline_dedup.errors import NotFoundError

# Stores each headline whose id is new, atomically, so two clients racing with one id store it once.
# KEYS: ids list, queued zset, unplaced zset, then one headline key per headline.
# ARGV: now, then id/title/source/published per headline.
_SUBMIT = """
local new = {}
for i = 4, #KEYS do
  local a = (i - 4) * 4 + 2
  if redis.call('EXISTS', KEYS[i]) == 0 then
    redis.call('HSET', KEYS[i], 't', ARGV[a + 1], 's', ARGV[a + 2], 'p', ARGV[a + 3], 'st', 'q')
    redis.call('RPUSH', KEYS[1], ARGV[a])
    redis.call('ZADD', KEYS[2], ARGV[1], ARGV[a])
    redis.call('ZADD', KEYS[3], ARGV[a + 3], ARGV[a])
    new[#new + 1] = ARGV[a]
  end
end
return new
"""


@dataclass(frozen=True)
class NewHeadline:
    id: str
    title: str
    source: str
    published: float


def _submit_calls(engine: Engine, headlines: list[NewHeadline]) -> list[list[str]]:
    """Arguments of one _SUBMIT call per 1000 headlines: numkeys, keys, then args."""
    keys = engine.keys
    calls = []
    for start in range(0, len(headlines), 1000):
        chunk = headlines[start : start + 1000]
        args: list[str] = [repr(time.time())]
        for h in chunk:
            args += [h.id, h.title, h.source, repr(h.published)]
        key_list = [keys.ids, keys.queued, keys.unplaced] + [keys.headline(h.id) for h in chunk]
        calls.append([str(len(key_list)), *key_list, *args])
    return calls


def submit(r: redis.Redis, engine: Engine, headlines: list[NewHeadline]) -> list[str]:
    """Store headlines as queued; returns the ids that were new (the ones to enqueue)."""
    return [x.decode() for call in _submit_calls(engine, headlines) for x in r.eval(_SUBMIT, *call)]


async def submit_async(r: redis.asyncio.Redis, engine: Engine, headlines: list[NewHeadline]) -> list[str]:
    """submit() for the API's event loop."""
    return [x.decode() for call in _submit_calls(engine, headlines) for x in await r.eval(_SUBMIT, *call)]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


_STATUS = {b"q": "queued", b"d": "done", b"f": "failed"}


def statuses(r: redis.Redis, engine: Engine, ids: list[str]) -> list[bytes | None]:
    """The raw status (b"q", b"d", b"f") of each id, None when unknown, in one round trip."""
    replies = rcall.run(r, [["HGET", engine.keys.headline(hid), "st"] for hid in ids])
    return [st or None for st in replies]


def get_headline(r: redis.Redis, engine: Engine, hid: str) -> dict:
    raw = cast(dict[bytes, bytes], r.hgetall(engine.keys.headline(hid)))
    if not raw:
        raise NotFoundError(f"no headline with id {hid!r}")
    return _headline_view(hid, raw)


async def get_headline_async(r: redis.asyncio.Redis, engine: Engine, hid: str) -> dict:
    """get_headline() for the API's event loop: the hottest read, so no thread hop."""
    raw = await r.hgetall(engine.keys.headline(hid))
    if not raw:
        raise NotFoundError(f"no headline with id {hid!r}")
    return _headline_view(hid, raw)


def _headline_view(hid: str, raw: dict[bytes, bytes]) -> dict:
    def text(field: bytes) -> str | None:
        value = raw.get(field)
        return value.decode() if value is not None else None

    return {
        "id": hid,
        "title": text(b"t"),
        "source": text(b"s") or None,
        "published_at": iso(float(raw[b"p"])),
        "status": _STATUS.get(raw.get(b"st", b"q"), "queued"),
        "cluster_id": text(b"c"),
        "duplicate_of": text(b"d"),
    }


def get_cluster(r: redis.Redis, engine: Engine, cid: str, limit: int = 100, offset: int = 0) -> dict:
    keys = engine.keys
    pipe = r.pipeline(transaction=False)
    pipe.hgetall(keys.cluster(cid))
    pipe.zscore(keys.clusters, cid)
    pipe.lrange(keys.members(cid), offset, offset + limit - 1)
    meta, last_seen, member_ids = pipe.execute()
    if not meta:
        raise NotFoundError(f"no cluster with id {cid!r}")
    pipe = r.pipeline(transaction=False)
    for m in member_ids:
        pipe.hmget(keys.headline(m.decode()), ["t", "s", "p"])
    members = [
        {"id": m.decode(), "title": t.decode(), "source": s.decode() or None, "published_at": iso(float(p))}
        for m, (t, s, p) in zip(member_ids, pipe.execute(), strict=True)
        if t is not None
    ]
    first = float(meta[b"first_seen"])
    view = {
        "cluster_id": cid,
        "size": int(meta.get(b"size", 0)),
        "title": (meta.get(b"label") or meta[b"title"]).decode(),
        "first_seen": iso(first),
        "last_seen": iso(last_seen if last_seen is not None else first),
        "headlines": members,
    }
    if b"merged_into" in meta:
        view.update(size=0, headlines=[], merged_into=_final_target(r, engine, meta[b"merged_into"].decode()))
    return view


def _final_target(r: redis.Redis, engine: Engine, cid: str) -> str:
    """Follow a chain of merges (A into B, then B into C) to the story that holds the headlines now."""
    for _ in range(100):
        nxt = r.hget(engine.keys.cluster(cid), "merged_into")
        if nxt is None:
            return cid
        cid = nxt.decode()
    return cid


def export_rows(
    r: redis.Redis, engine: Engine, chunk: int = 2000
) -> Iterator[tuple[str, str | None, str | None, str]]:
    """Every headline in arrival order: (id, cluster_id, duplicate_of, status)."""
    keys = engine.keys
    total = int(r.llen(keys.ids))
    for start in range(0, total, chunk):
        ids = [as_text(x) for x in r.lrange(keys.ids, start, start + chunk - 1)]
        pipe = r.pipeline(transaction=False)
        for hid in ids:
            pipe.hmget(keys.headline(hid), ["c", "d", "st"])
        for hid, (c, d, st) in zip(ids, pipe.execute(), strict=True):
            yield hid, _s(c), _s(d), _STATUS.get(st or b"q", "queued")


def _s(value: bytes | None) -> str | None:
    return value.decode() if value is not None else None


def as_text(value: object) -> str:
    """A Redis reply (bytes with this client) as str."""
    return value.decode() if isinstance(value, bytes) else str(value)
