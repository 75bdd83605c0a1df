"""`headlines up` re-enqueues a dead worker's batch even when Redis did not answer at the moment it died.

The supervisor's `recover` runs each tick; here the ticks are called by hand, first against a Redis
that is not there (a free port, nothing listening), then against the real one holding the worker's
RQ record, as RQ itself writes it.
"""

from __future__ import annotations

import os
import time

import redis
from rq import Worker
from rq.job import Job

from headline_dedup.cli.up import DeadWorker, recover
from headline_dedup.embedded import connect, free_port
from headline_dedup.engine import Engine
from headline_dedup.queue import JOB_FUNCTION, get_queue

IDS = ["h1", "h2", "h3"]


def _register_busy_worker(r: redis.Redis, engine: Engine) -> Worker:
    """An RQ worker record of this process (its pid and host) with a placement batch as its current job."""
    queue = get_queue(r, engine)
    worker = Worker([queue], connection=queue.connection)
    worker.register_birth()
    job = Job.create(JOB_FUNCTION, args=(engine.settings.namespace, IDS), connection=queue.connection)
    job.save()
    worker.prepare_execution(job)
    return worker


def test_a_batch_whose_redis_did_not_answer_is_retried_until_it_does(r: redis.Redis, engine: Engine) -> None:
    nowhere = connect(f"redis://127.0.0.1:{free_port()}/0")
    dead = [DeadWorker(os.getpid())]
    dead = recover(nowhere, engine, dead)
    dead = recover(nowhere, engine, dead)  # a second tick, still no Redis: still kept
    assert [worker.pid for worker in dead] == [os.getpid()]
    _register_busy_worker(r, engine)
    assert recover(r, engine, dead) == []
    queue = get_queue(r, engine)
    assert [job.args for job in queue.get_jobs()] == [(engine.settings.namespace, IDS)]
    assert Worker.all(queue=queue) == []  # its record no longer counts as a live worker


def test_a_tick_stops_at_the_first_failure_and_keeps_the_rest(engine: Engine) -> None:
    nowhere = connect(f"redis://127.0.0.1:{free_port()}/0")
    dead = [DeadWorker(1), DeadWorker(2)]
    assert recover(nowhere, engine, dead) == dead
    assert [worker.tries for worker in dead] == [1, 0]


def test_after_requeue_after_the_batch_is_left_to_the_janitor(engine: Engine) -> None:
    nowhere = connect(f"redis://127.0.0.1:{free_port()}/0")
    long_ago = DeadWorker(os.getpid(), died=time.monotonic() - engine.settings.requeue_after - 1)
    assert recover(nowhere, engine, [long_ago]) == []
