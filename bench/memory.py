"""The cost curve: replay the data shifted forward 14 days per round until N headlines are stored.

A service whose window-only state expires keeps its speed and its window memory flat as the store grows;
one that leaks state into the window slows down and grows. Headlines are fed with back-pressure (a
bounded backlog) so the feeder's CPU is spread evenly over the run instead of burdening its start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import redis

from bench.procs import Bench, start_workers, stop_all
from bench.watch import NS, done_count
from headline_dedup.config import build_settings
from headline_dedup.engine import engine_for
from headline_dedup.queue import enqueue_ids
from headline_dedup.state.keys import Keys
from headline_dedup.store import NewHeadline, submit

SHIFT = 14 * 86400
CHUNK = 5000
BACKLOG = 20_000
WINDOW_PATTERNS = Keys(NS).window_patterns()


def replay(rows: list[NewHeadline], total: int) -> Iterator[list[NewHeadline]]:
    """Chunks of the data, round k shifted by k*14 days with new ids, until `total` headlines."""
    sent, k = 0, 0
    while sent < total:
        shifted = [replace(h, id=f"r{k}-{h.id}", published=h.published + k * SHIFT) for h in rows]
        for start in range(0, len(shifted), CHUNK):
            chunk = shifted[start : start + CHUNK][: total - sent]
            if not chunk:
                return
            sent += len(chunk)
            yield chunk
        k += 1


def window_bytes(r: redis.Redis) -> tuple[int, int]:
    """(bytes, keys) of window-only state: every key of the window patterns, MEMORY USAGE summed."""
    keys = [k for pattern in WINDOW_PATTERNS for k in r.scan_iter(match=pattern, count=5000)]
    pipe = r.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key)
    return sum(int(n or 0) for n in pipe.execute()), len(keys)


def _feed(
    bench: Bench, rows: list[NewHeadline], total: int, stop: threading.Event, errors: list[BaseException]
) -> None:
    try:
        _feed_all(bench, rows, total, stop)
    except Exception as exc:  # the sampler raises it, instead of waiting an hour for headlines never sent
        errors.append(exc)


def _feed_all(bench: Bench, rows: list[NewHeadline], total: int, stop: threading.Event) -> None:
    engine = engine_for(build_settings({"redis_url": bench.url}))
    r = redis.Redis.from_url(bench.url)
    for chunk in replay(rows, total):
        while r.zcard(engine.keys.queued) > BACKLOG and not stop.is_set():
            time.sleep(0.05)
        if stop.is_set():
            return
        enqueue_ids(r, engine, submit(r, engine, chunk))


def measure(bench: Bench, rows: list[NewHeadline], total: int, workers: int, points: int = 10) -> dict:
    bench.redis.flushall()
    procs = start_workers(bench, workers, "headlines")
    stop = threading.Event()
    errors: list[BaseException] = []
    feeder = threading.Thread(target=_feed, args=(bench, rows, total, stop, errors), daemon=True)
    start = time.perf_counter()
    feeder.start()
    try:
        marks, samples = _sample(bench, total, points, start, errors)
    finally:
        stop.set()
        feeder.join()
        stop_all(procs)
    tenth = total / 10
    first = tenth / (marks[1] - marks[0])
    last = tenth / (marks[-1] - marks[-2])
    used = int(bench.redis.info("memory")["used_memory"])
    return {"total": total, "seconds": marks[-1] - start, "first_rate": first, "last_rate": last,
            "samples": samples, "memory_per_headline": used / total}


def _sample(
    bench: Bench, total: int, points: int, start: float, errors: list[BaseException]
) -> tuple[list[float], list[dict]]:
    """Times at 0%, 10%, ..., 100% placed, and window state sampled at `points` even steps."""
    tenths = [start]
    samples: list[dict] = []
    step = 1  # the next sample is due at step/points of the total
    deadline = time.monotonic() + 3600
    while len(tenths) < 11:
        done = done_count(bench.redis)
        while len(tenths) < 11 and done >= total * len(tenths) / 10:
            tenths.append(time.perf_counter())
        if done >= total * step / points:
            size, keys = window_bytes(bench.redis)
            samples.append({"done": done, "window_bytes": size, "window_keys": keys,
                            "used_memory": int(bench.redis.info("memory")["used_memory"])})
            step = done * points // total + 1  # one sample, even when progress jumped past two steps
        if errors:
            raise RuntimeError(f"feeding the cost curve failed at {done} placed") from errors[0]
        if time.monotonic() > deadline:
            raise TimeoutError(f"cost curve stalled at {done} of {total}")
        time.sleep(0.02)
    return tenths, samples
