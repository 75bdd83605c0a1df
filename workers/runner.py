"""One RQ worker in this process, which stops within WORKER_GRACE seconds of SIGTERM whatever Redis does.

RQ's warm shutdown asks Redis whether the worker is busy; with Redis away that raises ConnectionError
inside the signal handler, which RQ's own reconnect loop (and any retry around it) then swallows, so the
request to stop was lost and the worker ran on forever. Here a stop request is remembered outside Redis,
a Redis error while handling it ends the process at once, and a timer ends it anyway once the grace
period is over (a batch cut off mid-way wrote nothing: it is one atomic script, and runs again later).
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
from types import FrameType

import redis
from rq import SimpleWorker

from headline_dedup.config import Settings, build_settings, get_settings
from headline_dedup.embedded import connect, resolve_url
from headline_dedup.engine import engine_for
from headline_dedup.queue import get_queue

log = logging.getLogger(__name__)
# Below procs.GRACE, so a worker told to stop exits on its own before its parent resorts to SIGKILL.
WORKER_GRACE = 5.0
REDIS_RETRY_SECONDS = 1.0
# The exit status of a worker that was stopped without a clean RQ shutdown (128 + SIGTERM).
EXIT_STOPPED = 128 + signal.SIGTERM

stopping = threading.Event()


def request_stop() -> None:
    """Remember the request, and end the process after the grace period if it has not ended by then."""
    if stopping.is_set():
        return
    stopping.set()
    timer = threading.Timer(WORKER_GRACE, os._exit, (EXIT_STOPPED,))
    timer.daemon = True
    timer.start()


class StoppableWorker(SimpleWorker):
    """SimpleWorker (jobs run in-process: no fork per batch, warm MinHash and vectoriser) whose stop
    request survives Redis being away."""

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        request_stop()
        try:
            super().request_stop(signum, frame)
        except (redis.ConnectionError, redis.TimeoutError):
            # Redis is away: nothing can be finished or unregistered cleanly, and waiting would be
            # swallowed by the reconnect loops. The supervisor and the janitor recover the batch.
            log.warning("stop requested while Redis is unavailable; exiting now")
            os._exit(EXIT_STOPPED)

    def request_force_stop(self, signum: int, frame: FrameType | None) -> None:
        try:
            super().request_force_stop(signum, frame)
        except (redis.ConnectionError, redis.TimeoutError):
            os._exit(EXIT_STOPPED)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    request_stop()


def run_worker(burst: bool = False, redis_url: str | None = None) -> None:
    """One RQ worker on the configured queue, until the queue is empty (burst) or a stop request."""
    settings: Settings = build_settings({"redis_url": redis_url}) if redis_url else get_settings()
    # RQ installs its handlers only once work() runs; until then (and between retries) these keep a
    # SIGTERM from being lost.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _on_signal)
    r = connect(resolve_url(settings), settings.redis_cluster)
    # Load the models (and their imports) now, not in the first batch: a worker exists to place headlines,
    # and the first batch should not wait a second or two behind the lock for scikit-learn to import.
    engine_for(settings).warm()
    import headline_dedup.workers.jobs  # noqa: F401  (RQ would import it at the first job)
    # Everything alive now (modules, models, tables) lives as long as the worker: kept out of the cyclic
    # collector, whose full passes would otherwise walk it again and again while batches allocate.
    gc.freeze()

    while not stopping.is_set():
        try:
            queue = get_queue(r, engine_for(settings))
            worker = StoppableWorker([queue], connection=queue.connection)
            worker.work(burst=burst, logging_level="WARNING", with_scheduler=False)
            return
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if stopping.is_set():
                return
            # RQ rides out an outage while waiting for a job, but not while starting or finishing one.
            # Waiting here keeps a Redis restart from turning into a crash loop of workers.
            log.warning("worker: Redis unavailable (%s); retrying in %.0fs", exc, REDIS_RETRY_SECONDS)
            stopping.wait(REDIS_RETRY_SECONDS)
