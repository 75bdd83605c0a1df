"""Watching the service's progress from the outside: a thread that samples Redis counters."""

from __future__ import annotations

import threading
import time

import redis

import headline_dedup.state.headlines as headlines
import headline_dedup.state.window as window
from headline_dedup.state.keys import Keys
from headline_dedup.state.records import Totals

NS = "hd"  # the service's default namespace; the benchmark's children run with default settings


def done_count(r: redis.Redis, keys: Keys = Keys(NS)) -> int:
    """Headlines placed: one hash on one Redis; on a cluster (keys.on_cluster) one per partition."""
    if not keys.on_cluster:
        return int(r.hget(keys.stats, Totals.DONE) or 0)
    names = ["", *sorted(p.decode() for p in r.smembers(keys.partitions))]
    return window.totals(r, keys, names).get(Totals.DONE, 0)


class Progress:
    """Samples (time, headlines stored, headlines placed) every `every` seconds until stopped."""

    def __init__(self, r: redis.Redis, every: float = 0.01, keys: Keys = Keys(NS)) -> None:
        self.r, self.every, self.keys = r, every, keys
        self.samples: list[tuple[float, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.keys.on_cluster:
                stored, done = headlines.count(self.r, self.keys), done_count(self.r, self.keys)
            else:  # one round trip
                pipe = self.r.pipeline(transaction=False)
                pipe.llen(self.keys.ids)
                pipe.hget(self.keys.stats, Totals.DONE)
                stored, done = pipe.execute()
            self.samples.append((time.perf_counter(), int(stored), int(done or 0)))
            self._stop.wait(self.every)

    def span(self) -> tuple[int, float]:
        """(headlines placed, seconds from the first one stored to the last one placed)."""
        first = next(t for t, stored, _ in self.samples if stored > 0)
        final = self.samples[-1][2]
        last = next(t for t, _, done in self.samples if done >= final)
        return final, last - first


def wait_until_done(r: redis.Redis, target: int, timeout: float, keys: Keys = Keys(NS)) -> float:
    """Block until `target` headlines are placed; returns the time it happened."""
    deadline = time.monotonic() + timeout
    while done_count(r, keys) < target:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {done_count(r, keys)} of {target} headlines placed after {timeout:.0f}s")
        time.sleep(0.01)
    return time.perf_counter()
