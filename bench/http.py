"""The API under load: GET /headlines/{id} latency and rate, and single-headline POSTs from many clients.

Sequential latency uses httpx.Client over one keep-alive connection; the 16-client load uses the lean
client in bench/wire.py. The clients share the machine with the API, Redis and workers, so they take CPU
the service would otherwise have: the figures are a floor for the service, not a ceiling.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
from rq import Queue

from bench import wire
from bench.procs import Bench, start_api, start_workers, stop_all
from bench.watch import NS
from headline_dedup.state.headlines import statuses
from headline_dedup.state.keys import Keys
from headline_dedup.state.records import Status
from headline_dedup.store import NewHeadline, iso

CLIENTS = 16


def lookup_latency(base: str, ids: list[str], count: int) -> dict[str, float]:
    """Sequential GETs over one keep-alive connection: p50 and p99 in milliseconds."""
    times = []
    with httpx.Client(base_url=base) as client:
        for i in range(count + 100):
            hid = ids[i % len(ids)]
            start = time.perf_counter()
            client.get(f"/headlines/{hid}").raise_for_status()
            if i >= 100:  # the first hundred warm the connection and the API
                times.append(time.perf_counter() - start)
    cuts = statistics.quantiles(times, n=100)
    return {"p50_ms": 1000 * cuts[49], "p99_ms": 1000 * cuts[98], "n": len(times)}


def lookup_rate(base: str, ids: list[str], count: int) -> float:
    gets: list[tuple[str, str, object]] = [("GET", f"/headlines/{ids[i % len(ids)]}", None) for i in range(count)]
    return count / asyncio.run(wire.run(_port(base), gets, CLIENTS))


def post_all(base: str, rows: list[NewHeadline]) -> float:
    """Every headline as its own POST, from CLIENTS connections; returns seconds."""
    posts: list[tuple[str, str, object]] = [
        ("POST", "/headlines", {"id": h.id, "title": h.title, "source": h.source, "published_at": iso(h.published)})
        for h in rows
    ]
    return asyncio.run(wire.run(_port(base), posts, CLIENTS))


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def wait_assigned(bench: Bench, ids: list[str], timeout: float = 600) -> float:
    """Poll each id's status until every one is placed; returns the time."""
    deadline = time.monotonic() + timeout
    remaining = ids
    while remaining:
        found = statuses(bench.redis, Keys(NS), remaining)
        remaining = [hid for hid, st in zip(remaining, found, strict=True) if st not in (Status.DONE, Status.FAILED)]
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(remaining)} POSTed headlines still queued after {timeout:.0f}s")
        time.sleep(0.02)
    return time.perf_counter()


def measure(bench: Bench, lookup_ids: list[str], posts: list[NewHeadline], lookups: int, workers: int) -> dict:
    base, api = start_api(bench)
    procs = [api, *start_workers(bench, workers, "headlines")]
    result = {**lookup_latency(base, lookup_ids, min(lookups, 2000)),
              "lookup_rate": lookup_rate(base, lookup_ids, lookups), "lookups": lookups}
    finished = Queue("headlines", connection=bench.redis).finished_job_registry
    jobs_before = finished.count
    start = time.perf_counter()
    seconds = post_all(base, posts)
    posted = time.perf_counter()
    settled = wait_assigned(bench, [h.id for h in posts])
    stop_all(procs)
    jobs = finished.count - jobs_before
    return {**result, "posts": len(posts), "post_rate": len(posts) / seconds,
            "settle_after_last_post": settled - posted, "settle_total": settled - start, "jobs": jobs}
