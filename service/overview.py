"""Read-only overviews for admins: the story list and the service's vital numbers."""

from __future__ import annotations

from typing import Any

import redis
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.worker import Worker

from headline_dedup.engine import Engine
from headline_dedup.queue import get_queue
from headline_dedup.state import headlines as stored
from headline_dedup.state import window
from headline_dedup.state.commands import is_cluster
from headline_dedup.state.metrics import used_memory
from headline_dedup.state.records import Story, Totals, decode_time
from headline_dedup.store import iso


def list_clusters(r: redis.Redis, engine: Engine, top: int = 20, since: float | None = None,
                  by: str = "size") -> list[dict[str, Any]]:
    """The largest (by='size') or newest (by='recent') live stories, last seen at or after `since`."""
    return page_clusters(r, engine, by, since, top, 0)[0]


def page_clusters(r: redis.Redis, engine: Engine, by: str = "size", since: float | None = None, limit: int = 20,
                  offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """A page of the live stories last seen at or after `since`, largest (by='size') or newest (by='recent')
    first, and how many such stories there are in all."""
    keys = engine.keys
    low = since if since is not None else "-inf"
    if by == "recent":
        # Newest first is the sorted set's own order, so a page costs its own size, whatever the offset.
        pairs = r.zrevrangebyscore(keys.clusters, "+inf", low, start=offset, num=limit, withscores=True)
        total = int(r.zcount(keys.clusters, low, "+inf"))
        return _summaries(r, engine, pairs), total
    # No index by size: every story in range is read and sorted (what `headlines clusters` always did).
    rows = _summaries(r, engine, r.zrangebyscore(keys.clusters, low, "+inf", withscores=True))
    rows.sort(key=lambda row: (-row["size"], row["cluster_id"]))
    return rows[offset : offset + limit], len(rows)


def _summaries(r: redis.Redis, engine: Engine, pairs: list[tuple[bytes, float]]) -> list[dict[str, Any]]:
    """Size, title (or label), first and last seen of each (cluster id, last seen) pair, in order; a story
    deleted between the two reads is left out."""
    keys = engine.keys
    pipe = r.pipeline(transaction=False)
    for cid, _ in pairs:
        pipe.hmget(keys.cluster(cid.decode()), [Story.SIZE, Story.TITLE, Story.LABEL, Story.FIRST_SEEN])
    rows = []
    for (cid, last_seen), (size, title, label, first) in zip(pairs, pipe.execute(), strict=True):
        if size is None and title is None:
            continue
        rows.append({"cluster_id": cid.decode(), "size": int(size or 0), "title": (label or title or b"").decode(),
                     "first_seen": iso(decode_time(first)), "last_seen": iso(last_seen)})
    return rows


def stats(r: redis.Redis, engine: Engine) -> dict[str, Any]:
    keys = engine.keys
    queue = get_queue(r, engine)
    partitions = _partitions(r, engine)
    totals = window.totals(r, keys, partitions)
    memory = _memory(r)
    return {
        "headlines": stored.count(r, keys),
        "placed": totals.get(Totals.DONE, 0),
        "duplicates": totals.get(Totals.DUPLICATES, 0),
        "too_late": totals.get(Totals.TOO_LATE, 0),
        "clusters": int(r.zcard(keys.clusters)),
        "open_clusters": sum(int(r.zcard(keys.part(p).open_clusters)) for p in partitions),
        "waiting": int(r.zcard(keys.queued)),
        "queue_depth": len(queue),
        "jobs_running": StartedJobRegistry(queue=queue).count,
        "failed_jobs": FailedJobRegistry(queue=queue).count,
        "workers": len(Worker.all(queue=queue)),
        "redis_memory": memory.get("used_memory_human", "?"),
        "redis_memory_bytes": int(memory.get("used_memory", 0)),
    }


def _memory(r: redis.Redis) -> dict[str, Any]:
    """INFO memory of the Redis, or on a cluster the sum over its primaries."""
    if not is_cluster(r):
        return dict(r.info("memory"))
    used = used_memory(r)
    return {"used_memory": used, "used_memory_human": f"{used / 2**20:.2f}M in {len(r.get_primaries())} primaries"}


def _partitions(r: redis.Redis, engine: Engine) -> list[str]:
    """The default partition and every other one that was ever enqueued."""
    return ["", *sorted(p.decode() for p in r.smembers(engine.keys.partitions))]


def requeue_failed(r: redis.Redis, engine: Engine) -> int:
    """Put every failed job back on the queue; returns how many."""
    registry = FailedJobRegistry(queue=get_queue(r, engine))
    moved = 0
    for job_id in registry.get_job_ids():
        registry.requeue(job_id)
        moved += 1
    return moved
