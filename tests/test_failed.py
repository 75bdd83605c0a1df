"""A batch that fails on every retry: its waiting headlines read `failed`, and a requeue places them."""

from __future__ import annotations

from rq.registry import FailedJobRegistry

from headline_dedup.overview import requeue_failed
from headline_dedup.pipeline import process_batch
from headline_dedup.queue import enqueue_ids, get_queue
from headline_dedup.state.records import Headline
from headline_dedup.store import get_headline, submit
from tests.helpers import DAY, FED, UNRELATED, drain, headline


def test_a_batch_that_keeps_failing_marks_its_headlines_failed(r, engine):
    submit(r, engine, [headline("ok", FED), headline("bad", UNRELATED[0])])
    process_batch(r, engine, ["ok"])
    # A stored time no worker can read: every attempt of the batch raises.
    r.hset(engine.keys.headline("bad"), Headline.PUBLISHED, "not-a-time")
    enqueue_ids(r, engine, ["ok", "bad"])
    drain(r, engine)
    assert get_headline(r, engine, "ok")["status"] == "done"
    r.hset(engine.keys.headline("bad"), Headline.PUBLISHED, repr(DAY))
    assert get_headline(r, engine, "bad")["status"] == "failed"
    queue = get_queue(r, engine)
    assert FailedJobRegistry(queue=queue).count == 1

    assert requeue_failed(r, engine) == 1
    drain(r, engine)
    placed = get_headline(r, engine, "bad")
    assert placed["status"] == "done" and placed["cluster_id"]
