"""Coalesces single-headline POSTs into batch jobs.

RQ pays a fixed cost per job; a job per single POST would cap the service at a few hundred headlines a
second. Ids wait here at most `flush_ms` (or until a batch fills) before one job carries them all. They
are already stored as queued in Redis, so a crash here loses no headline: the janitor re-enqueues it.
"""

from __future__ import annotations

import logging
import threading

import redis

from headline_dedup.engine import Engine
from headline_dedup.queue import enqueue_ids

log = logging.getLogger(__name__)


class Batcher:
    def __init__(self, r: redis.Redis, engine: Engine) -> None:
        self.r = r
        self.engine = engine
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()  # set when a batch is full: flush now, not at the next tick
        self._thread = threading.Thread(target=self._run, name="batcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def add(self, ids: list[str]) -> None:
        """Queue ids for the next job; never does I/O, so the event loop can call it."""
        with self._lock:
            self._pending.extend(ids)
            full = len(self._pending) >= self.engine.settings.batch_size
        if full:
            self._wake.set()

    def flush(self) -> None:
        with self._lock:
            ids, self._pending = self._pending, []
        if not ids:
            return
        try:
            enqueue_ids(self.r, self.engine, ids)
        except redis.RedisError:
            # Stored as queued already. Keeping them here enqueues them as soon as Redis is back, rather
            # than after `requeue_after`; a job enqueued twice is harmless, as batches are idempotent.
            log.warning("could not enqueue %d headlines; retrying on the next flush", len(ids))
            with self._lock:
                self._pending[:0] = ids

    def _run(self) -> None:
        interval = self.engine.settings.flush_ms / 1000
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                # A dead batcher thread would leave every later single POST waiting for the janitor.
                log.exception("batcher flush failed; retrying")

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.flush()
