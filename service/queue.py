"""Enqueueing batches on RQ, and re-enqueueing what waited too long.

Jobs are enqueued by dotted path, so service/ never imports workers/. A job carries the namespace and
the ids of headlines already stored as queued; the headlines themselves stay in Redis, so a lost job
loses nothing: the janitor enqueues again any headline queued longer than `requeue_after`.
"""

from __future__ import annotations

import itertools
import socket
import time
from collections.abc import Iterable, Sequence

import redis
from rq import Callback, Queue, Retry, Worker
from rq.job import Job

from headline_dedup import turns
from headline_dedup.embedded import connect
from headline_dedup.engine import Engine
from headline_dedup.errors import ConfigError
from headline_dedup.state import headlines as stored
from headline_dedup.state import locks, outbox
from headline_dedup.state.commands import is_cluster
from headline_dedup.state.keys import JOB_FAILURE_TTL, JOB_RESULT_TTL
from headline_dedup.store import as_text
from headline_dedup.urls import masked as shown

JOB_FUNCTION = "headline_dedup.workers.jobs.process_batch"
# Marks a batch's headlines failed once its last retry failed.
FAILURE_CALLBACK = "headline_dedup.workers.jobs.mark_failed"


# One client per queue URL and process: RQ's calls are few and short, and share it.
_QUEUE_CLIENTS: dict[str, redis.Redis] = {}


def queue_connection(r: redis.Redis, engine: Engine) -> redis.Redis:
    """RQ's Redis: `queue_url` when set, else the state's own (`r`). RQ needs a plain Redis: with the state
    on a Redis Cluster, a queue_url naming a node of a cluster is refused (ConfigError)."""
    url = engine.settings.queue_url
    if not url:
        return r
    if url not in _QUEUE_CLIENTS:
        client = connect(url)
        if engine.settings.redis_cluster and _in_a_cluster(client):
            raise ConfigError(f"queue_url {shown(url)} is a node of a Redis Cluster; RQ needs a plain Redis "
                              "for its queue")
        _QUEUE_CLIENTS[url] = client
    return _QUEUE_CLIENTS[url]


def _in_a_cluster(client: redis.Redis) -> bool:
    try:
        return bool(client.info("cluster").get("cluster_enabled"))
    except redis.ResponseError:  # a server without INFO cluster is no cluster node
        return False


def get_queue(r: redis.Redis, engine: Engine) -> Queue:
    """The queue of `engine`'s settings, on the queue Redis; `r` is the state Redis."""
    return Queue(engine.settings.queue_name, connection=queue_connection(r, engine))


def chunks(ids: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def enqueue_ids(r: redis.Redis, engine: Engine, ids: list[str], partitions: Sequence[str] | None = None) -> list[Job]:
    """One RQ job per `batch_size` ids of one partition, each with a ticket for its turn in its partition
    (service.turns). `partitions`: each id's partition, read from the stored headlines when not given."""
    s = engine.settings
    if s.partition_by == "none":
        partitions = [""] * len(ids)
    elif partitions is None:
        partitions = stored.partitions(r, engine.keys, ids)
    groups: dict[str, list[str]] = {}
    for hid, partition in zip(ids, partitions, strict=True):
        groups.setdefault(partition, []).append(hid)
    if s.partition_by != "none" and groups:
        r.sadd(engine.keys.partitions, *groups)
    queue = get_queue(r, engine)
    by_partition = {partition: list(chunks(members, s.batch_size)) for partition, members in groups.items()}
    for partition, batches in by_partition.items():
        turns.take(r, engine, [batch[0] for batch in batches], partition)
    # Queued in turn, one batch of each partition after another: workers take jobs in queue order, and two
    # of them on one partition's consecutive batches would wait for each other's turn while another
    # partition's work sat in the queue.
    jobs = []
    for round_ in itertools.zip_longest(*by_partition.values()):
        jobs += [_enqueue(queue, engine, s.namespace, batch, partition)
                 for partition, batch in zip(by_partition, round_, strict=True) if batch is not None]
    return jobs


def _enqueue(queue: Queue, engine: Engine, namespace: str, ids: list[str], partition: str = "") -> Job:
    s = engine.settings
    retry = Retry(max=s.job_retries) if s.job_retries else None
    # The default partition's jobs keep the arguments they always had.
    args = (namespace, ids, partition) if partition else (namespace, ids)
    return queue.enqueue_call(
        JOB_FUNCTION, args=args, timeout=s.job_timeout, result_ttl=JOB_RESULT_TTL,
        failure_ttl=JOB_FAILURE_TTL, retry=retry, description=f"{len(ids)} headlines",
        on_failure=Callback(FAILURE_CALLBACK),
    )


def recover_dead_worker(r: redis.Redis, engine: Engine, pid: int) -> int:
    """Enqueue again the batch a worker process of this host was running when it died; returns its size.

    RQ would retry that job too, but only once the job's heartbeat has expired and a maintenance pass
    (every 10 minutes) notices; the janitor would after `requeue_after`. The supervisor knows at once.
    """
    queue = get_queue(r, engine)
    host = socket.gethostname()
    for worker in Worker.all(queue=queue):
        if worker.pid != pid or worker.hostname != host:
            continue
        job = worker.get_current_job()
        worker.register_death()  # so it no longer counts as a live worker
        # What it held it holds no more: the next batch need not wait out the lock's timeout.
        locks.free(r, [engine.keys.part(p).assign_lock for p in _partitions(r, engine)], pid, host)
        if job is None or job.func_name != JOB_FUNCTION:
            return 0
        namespace, ids, *partition = job.args
        _enqueue(queue, engine, namespace, ids, *partition)
        return len(ids)
    return 0


def _partitions(r: redis.Redis, engine: Engine) -> list[str]:
    return ["", *sorted(as_text(p) for p in r.smembers(engine.keys.partitions))]


def finish_outboxes(r: redis.Redis, engine: Engine) -> int:
    """On a cluster: apply, under each partition's lock, what a placement that died left in its outbox,
    so a partition that gets no new batch is finished too. Returns how many entries there were."""
    if not is_cluster(r):
        return 0
    done = 0
    for partition in _partitions(r, engine):
        keys = engine.keys.part(partition)
        if r.hlen(keys.outbox):
            with engine.lock(r, partition):
                done += outbox.finish(r, keys)
    return done


def requeue_stale(r: redis.Redis, engine: Engine, older_than: float | None = None) -> int:
    """Enqueue again every headline queued for longer than `requeue_after` seconds; returns how many."""
    finish_outboxes(r, engine)
    keys = engine.keys
    cutoff = time.time() - (engine.settings.requeue_after if older_than is None else older_than)
    stale = [as_text(x) for x in r.zrangebyscore(keys.queued, "-inf", cutoff)]
    if not stale:
        return 0
    r.zadd(keys.queued, dict.fromkeys(stale, time.time()))
    enqueue_ids(r, engine, stale)
    return len(stale)
