"""RQ job functions. Thin: they find the engine for the job's namespace and call service.pipeline."""

from __future__ import annotations

import logging
import time

import redis
from rq import get_current_job
from rq.job import Job

from headline_dedup.config import Settings, get_settings
from headline_dedup.embedded import connect, resolve_url
from headline_dedup.engine import Engine, engine_for
from headline_dedup.pipeline import process_batch as place_batch
from headline_dedup.state import headlines, metrics
from headline_dedup.state.keys import Keys

log = logging.getLogger(__name__)
# Longest pause between attempts while Redis is away, seconds.
MAX_WAIT = 5.0


def process_batch(namespace: str, ids: list[str], partition: str = "") -> int:
    """Place a batch of stored headlines of one partition in stories; returns how many this run placed."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("process_batch runs inside an RQ worker")
    settings = get_settings().model_copy(update={"namespace": namespace})
    return place_through_outages(state_connection(settings, job.connection), engine_for(settings), ids, partition)


_STATE: dict[str, redis.Redis] = {}


def state_connection(settings: Settings, queue_connection: redis.Redis) -> redis.Redis:
    """Where the stories live: the job's own (queue) connection, unless `queue_url` put the queue elsewhere."""
    if not settings.queue_url:
        return queue_connection
    url = resolve_url(settings)
    if url not in _STATE:
        _STATE[url] = connect(url, settings.redis_cluster)
    return _STATE[url]


def place_through_outages(r: redis.Redis, engine: Engine, ids: list[str], partition: str = "") -> int:
    """Place the batch, and again if Redis went away meanwhile.

    Placing is idempotent (done headlines are skipped, each batch is written in one atomic script), so a
    batch cut off by a Redis restart is simply run again once Redis answers. Failing the job instead
    would need Redis to record the failure, and would leave the batch to the janitor. RQ's job timeout
    bounds the wait.
    """
    wait = 0.5
    while True:
        try:
            return place_batch(r, engine, ids, partition)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("Redis unavailable in the middle of a batch (%s); trying again in %.1fs", exc, wait)
            time.sleep(wait)
            wait = min(wait * 2, MAX_WAIT)


def mark_failed(job: Job, connection: redis.Redis, *exc_info: object) -> None:
    """RQ failure callback: once no retry is left, the batch's waiting headlines read `failed`."""
    if job.should_retry:
        return
    namespace, ids, *rest = job.args
    keys = Keys(namespace, on_cluster=get_settings().redis_cluster).part(rest[0] if rest else "")
    state = state_connection(get_settings(), connection)
    metrics.record_failed(state, keys, headlines.mark_failed(state, keys, ids))
    state.zrem(keys.turns, ids[0])  # the batches behind it need not wait for it
    log.error("batch of %d headlines failed for good: %s", len(ids), exc_info[1] if len(exc_info) > 1 else "")
