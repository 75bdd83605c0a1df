"""Submitting headlines, and reading headlines and clusters back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import redis
import redis.asyncio

from headline_dedup.engine import Engine
from headline_dedup.errors import NotFoundError
from headline_dedup.state import headlines as stored
from headline_dedup.state.commands import is_cluster
from headline_dedup.state.records import Headline, Status, Story, decode_time, encode_time
from headline_dedup.state.scripts import CREATE, SUBMIT


@dataclass(frozen=True)
class NewHeadline:
    id: str
    title: str
    source: str
    published: float
    partition: str = ""  # the default partition unless `partition_by` says otherwise (service.intake)


def _submit_calls(engine: Engine, headlines: list[NewHeadline]) -> list[tuple[list[str], list[str]]]:
    """Keys and arguments of one SUBMIT call per 1000 headlines."""
    keys = engine.keys
    calls = []
    for start in range(0, len(headlines), 1000):
        chunk = headlines[start : start + 1000]
        args: list[str] = [encode_time(time.time())]
        key_list = [keys.ids, keys.queued]
        for h in chunk:
            args += [h.id, h.title, h.source, encode_time(h.published), h.partition]
            key_list += [keys.headline(h.id), keys.part(h.partition).unplaced]
        calls.append((key_list, args))
    return calls


def submit(r: redis.Redis, engine: Engine, headlines: list[NewHeadline]) -> list[str]:
    """Store headlines as queued; returns the ids that were new (the ones to enqueue)."""
    if is_cluster(r):
        pipe = r.pipeline(transaction=False)
        for create in _create_calls(engine, headlines):
            pipe.execute_command("EVAL", *create)
        found = [int(x) for x in pipe.execute()]
        waiting = [h for h, f in zip(headlines, found, strict=True) if f]
        if waiting:
            pipe = r.pipeline(transaction=False)
            for name, *rest in _index_calls(engine, waiting, int(r.incrby(engine.keys.ids_seq, len(waiting)))):
                pipe.execute_command(name, *rest)
            pipe.execute()
        return [h.id for h, f in zip(headlines, found, strict=True) if f == 1]
    return [x.decode() for call in _submit_calls(engine, headlines) for x in SUBMIT(r, *call)]


async def submit_async(r: redis.asyncio.Redis, engine: Engine, headlines: list[NewHeadline]) -> list[str]:
    """submit() for the API's event loop."""
    if is_cluster(r):
        pipe = r.pipeline()
        for create in _create_calls(engine, headlines):
            pipe.execute_command("EVAL", *create)
        found = [int(x) for x in await pipe.execute()]
        waiting = [h for h, f in zip(headlines, found, strict=True) if f]
        if waiting:
            pipe = r.pipeline()
            last = int(await r.incrby(engine.keys.ids_seq, len(waiting)))
            for name, *rest in _index_calls(engine, waiting, last):
                pipe.execute_command(name, *rest)
            await pipe.execute()
        return [h.id for h, f in zip(headlines, found, strict=True) if f == 1]
    return [x.decode() for call in _submit_calls(engine, headlines)
            for x in await SUBMIT.call_async(r, *call)]


def _create_calls(engine: Engine, headlines: list[NewHeadline]) -> list[tuple[str | int, ...]]:
    """Cluster, step 1: EVAL arguments storing each headline by a script on its own key."""
    return [(CREATE.lua, 1, engine.keys.headline(h.id), h.title, h.source, encode_time(h.published), h.partition)
            for h in headlines]


def _index_calls(engine: Engine, waiting: list[NewHeadline], last: int) -> list[tuple[str | float, ...]]:
    """Cluster, step 2: arrival order, the queued set and the partition's unplaced set gain each waiting
    headline; NX everywhere, so a repeat (a client that died between the steps sends again) changes
    nothing already there."""
    keys, now = engine.keys, time.time()
    calls: list[tuple[str | float, ...]] = []
    for i, h in enumerate(waiting):
        calls += [("ZADD", keys.ids, "NX", last - len(waiting) + 1 + i, h.id), ("ZADD", keys.queued, "NX", now, h.id),
                  ("ZADD", keys.part(h.partition).unplaced, "NX", h.published, h.id)]
    return calls


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def statuses(r: redis.Redis, engine: Engine, ids: list[str]) -> list[Status | None]:
    """The status of each id, None when unknown, in one round trip."""
    return stored.statuses(r, engine.keys, ids)


def _label(raw: bytes | None) -> str:
    # A headline hash always has a status; a missing one reads as queued, as it was stored.
    return (Status.of(raw) or Status.QUEUED).label


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


# GET /headlines/{id}?wait=: the first re-read comes after WAIT_FIRST seconds, each next one WAIT_GROWTH times
# later, up to WAIT_MOST apart. Placement takes tens of milliseconds, so early reads catch it soon, and a
# long wait costs at most 1/WAIT_MOST reads of one field a second.
WAIT_FIRST = 0.005
WAIT_GROWTH = 1.4
WAIT_MOST = 0.05


async def wait_headline_async(r: redis.asyncio.Redis, engine: Engine, hid: str, seconds: float) -> dict:
    """The headline once it is no longer queued, or as it is after `seconds`. Sleeps on the event loop
    between reads of its status alone, so a waiting client holds no thread and little Redis time."""
    view = await get_headline_async(r, engine, hid)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    delay = WAIT_FIRST
    key = engine.keys.headline(hid)
    queued = Status.QUEUED.value
    while view["status"] == Status.QUEUED.label and (left := deadline - loop.time()) > 0:
        await asyncio.sleep(min(delay, left))
        delay = min(delay * WAIT_GROWTH, WAIT_MOST)
        # A missing status (the headline was deleted meanwhile) also ends the wait: the re-read says 404.
        if await r.hget(key, Headline.STATUS) != queued:
            view = await get_headline_async(r, engine, hid)
    return view


def _headline_view(hid: str, raw: dict[bytes, bytes]) -> dict:
    def text(field: str) -> str | None:
        value = raw.get(field.encode())
        return value.decode() if value is not None else None

    return {
        "id": hid,
        "title": text(Headline.TITLE),
        "source": text(Headline.SOURCE) or None,
        "published_at": iso(decode_time(raw[Headline.PUBLISHED.encode()])),
        "status": _label(raw.get(Headline.STATUS.encode())),
        "cluster_id": text(Headline.CLUSTER),
        "duplicate_of": text(Headline.DUPLICATE_OF),
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
        pipe.hmget(keys.headline(m.decode()), [Headline.TITLE, Headline.SOURCE, Headline.PUBLISHED])
    members = [
        {"id": m.decode(), "title": t.decode(), "source": s.decode() or None, "published_at": iso(decode_time(p))}
        for m, (t, s, p) in zip(member_ids, pipe.execute(), strict=True)
        if t is not None
    ]
    first = decode_time(meta[Story.FIRST_SEEN.encode()])
    view = {
        "cluster_id": cid,
        "size": int(meta.get(Story.SIZE.encode(), 0)),
        "title": (meta.get(Story.LABEL.encode()) or meta[Story.TITLE.encode()]).decode(),
        "first_seen": iso(first),
        "last_seen": iso(last_seen if last_seen is not None else first),
        "headlines": members,
    }
    merged = meta.get(Story.MERGED_INTO.encode())
    if merged is not None:
        view.update(size=0, headlines=[], merged_into=_final_target(r, engine, merged.decode()))
    return view


def _final_target(r: redis.Redis, engine: Engine, cid: str) -> str:
    """Follow a chain of merges (A into B, then B into C) to the story that holds the headlines now."""
    for _ in range(100):
        nxt = r.hget(engine.keys.cluster(cid), Story.MERGED_INTO)
        if nxt is None:
            return cid
        cid = nxt.decode()
    return cid


def export_rows(
    r: redis.Redis, engine: Engine, chunk: int = 2000
) -> Iterator[tuple[str, str | None, str | None, str]]:
    """Every headline in arrival order: (id, cluster_id, duplicate_of, status)."""
    keys = engine.keys
    total = stored.count(r, keys)
    for start in range(0, total, chunk):
        ids = stored.arrivals(r, keys, start, start + chunk - 1)
        pipe = r.pipeline(transaction=False)
        for hid in ids:
            pipe.hmget(keys.headline(hid), [Headline.CLUSTER, Headline.DUPLICATE_OF, Headline.STATUS])
        for hid, (c, d, st) in zip(ids, pipe.execute(), strict=True):
            yield hid, _s(c), _s(d), _label(st)


EXPORT_FIELDS = ("id", "cluster_id", "duplicate_of", "title", "source", "published_at", "label", "status")
# What each export field is read from, beyond the id: the headline's hash (`label`: its story's).
_HEADLINE_FIELDS = {"cluster_id": Headline.CLUSTER, "duplicate_of": Headline.DUPLICATE_OF, "title": Headline.TITLE,
                    "source": Headline.SOURCE, "published_at": Headline.PUBLISHED, "status": Headline.STATUS}


def export_records(r: redis.Redis, engine: Engine, fields: list[str], chunk: int = 2000) -> Iterator[dict]:
    """Every headline in arrival order as {field: value} for the `fields` named (of EXPORT_FIELDS); a value
    the headline lacks (no story yet, no source) is None. Two round trips a chunk, three with `label`."""
    keys = engine.keys
    read = [Headline.CLUSTER, *(_HEADLINE_FIELDS[f] for f in fields if f in _HEADLINE_FIELDS)]
    total = stored.count(r, keys)  # a list on one Redis, a zset on a cluster: the state layer knows which
    for start in range(0, total, chunk):
        ids = stored.arrivals(r, keys, start, start + chunk - 1)
        pipe = r.pipeline(transaction=False)
        for hid in ids:
            pipe.hmget(keys.headline(hid), read)
        rows = [dict(zip(read, values, strict=True)) for values in pipe.execute()]
        labels = _labels(r, engine, {_s(row[Headline.CLUSTER]) for row in rows} - {None}) if "label" in fields else {}
        for hid, row in zip(ids, rows, strict=True):
            yield {f: _export_value(f, hid, row, labels) for f in fields}


def _labels(r: redis.Redis, engine: Engine, cids: set[str | None]) -> dict[str, str | None]:
    order = sorted(c for c in cids if c is not None)
    pipe = r.pipeline(transaction=False)
    for cid in order:
        pipe.hget(engine.keys.cluster(cid), Story.LABEL)
    return {cid: _s(label) for cid, label in zip(order, pipe.execute(), strict=True)}


def _export_value(field: str, hid: str, row: dict[str, bytes | None], labels: dict[str, str | None]) -> str | None:
    if field == "id":
        return hid
    if field == "label":
        cid = _s(row[Headline.CLUSTER])
        return labels.get(cid) if cid else None
    raw = row[_HEADLINE_FIELDS[field]]
    if field == "status":
        return _label(raw)
    if field == "published_at":
        return iso(decode_time(raw)) if raw is not None else None
    return _s(raw) or None if field == "source" else _s(raw)


def _s(value: bytes | None) -> str | None:
    return value.decode() if value is not None else None


def as_text(value: object) -> str:
    """A Redis reply (bytes with this client) as str."""
    return value.decode() if isinstance(value, bytes) else str(value)
