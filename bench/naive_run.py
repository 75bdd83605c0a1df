"""Running the naive pipeline (bench/naive.py) on forking `rq worker`s, to compare the service against.

Cold: exactly `rq worker`; every forked child imports the job's module (and datasketch, ~1 s) afresh.
Warm: the same workers with the module imported once in the parent (`rq worker -c bench.naive`), so
the children inherit it: the comparison that flatters the naive pipeline, used for the ratio.
"""

from __future__ import annotations

import time

from rq import Queue

from bench.naive import DONE, place_one
from bench.procs import Bench, start_workers, stop_all
from headline_dedup.store import NewHeadline

QUEUE = "naive"


def measure(bench: Bench, rows: list[NewHeadline], workers: int, warm: bool, threshold: float = 0.6) -> dict:
    bench.redis.flushall()
    preload = ["-c", "bench.naive"] if warm else []
    procs = start_workers(bench, workers, QUEUE, forking=True, extra=preload)
    queue = Queue(QUEUE, connection=bench.redis)
    start = time.perf_counter()
    for h in rows:
        queue.enqueue(place_one, h.id, h.title, "127.0.0.1", bench.port, bench.password, threshold, result_ttl=60)
    _wait(bench, queue, len(rows), procs)
    seconds = time.perf_counter() - start
    stop_all(procs)
    return {"n": len(rows), "seconds": seconds, "rate": len(rows) / seconds}


def _wait(bench: Bench, queue: Queue, count: int, procs: list) -> None:
    deadline = time.monotonic() + 1800
    while int(bench.redis.get(DONE) or 0) < count:
        stalled = time.monotonic() > deadline or any(p.poll() is not None for p in procs)
        if stalled or len(queue.failed_job_registry):
            raise RuntimeError(f"naive run stalled or failed; see worker logs in {bench.tmp}")
        time.sleep(0.01)
