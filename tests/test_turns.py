"""Batches are placed in enqueue order (service.turns), so any number of workers gives the same stories."""

from __future__ import annotations

import time
from datetime import datetime

from headline_dedup import turns
from headline_dedup.engine import engine_for
from headline_dedup.pipeline import process_batch
from headline_dedup.queue import enqueue_ids
from headline_dedup.store import NewHeadline, export_rows, submit
from tests.helpers import SAMPLE, load_sample, run_workers


def test_tickets_follow_enqueue_order_and_a_batch_enqueued_again_keeps_its_place(r, engine):
    turns.take(r, engine, ["a", "b"])
    turns.take(r, engine, ["c", "a"])
    assert [m.decode() for m in r.zrange(engine.keys.turns, 0, -1)] == ["a", "b", "c"]


def test_the_first_batch_and_a_batch_without_ticket_go_at_once(r, engine):
    turns.take(r, engine, ["first", "second"])
    start = time.monotonic()
    turns.wait(r, engine, "first", patience=5)
    turns.wait(r, engine, "no-ticket", patience=5)
    assert time.monotonic() - start < 1


def test_a_batch_goes_once_the_one_ahead_leaves(r, engine):
    turns.take(r, engine, ["first", "second"])
    turns.leave(r, engine, "first")
    start = time.monotonic()
    turns.wait(r, engine, "second", patience=5)
    assert time.monotonic() - start < 1


def test_a_lost_batch_ahead_stops_blocking_after_patience(r, engine):
    turns.take(r, engine, ["lost", "mine"])
    start = time.monotonic()
    turns.wait(r, engine, "mine", patience=0.3)
    assert 0.3 <= time.monotonic() - start < 3
    assert r.zscore(engine.keys.turns, "lost") is None
    assert r.zscore(engine.keys.turns, "mine") is not None


def test_placing_a_batch_hands_the_turn_on(r, engine):
    ids = submit(r, engine, [NewHeadline("h1", "Volcano erupts near Reykjavik", "", 1.4e9)])
    enqueue_ids(r, engine, ids)
    assert r.zscore(engine.keys.turns, "h1") is not None
    process_batch(r, engine, ids)
    assert r.zcard(engine.keys.turns) == 0


def _stories(r, settings, redis_url, namespace: str, workers: int) -> set[frozenset[str]]:
    engine = engine_for(settings.model_copy(update={"namespace": namespace, "batch_size": 25}))
    rows = [NewHeadline(x["id"], x["title"], x["source"], datetime.fromisoformat(x["published_at"]).timestamp())
            for x in load_sample(SAMPLE)]
    enqueue_ids(r, engine, submit(r, engine, rows))
    run_workers(redis_url, workers)
    members: dict[str, set[str]] = {}
    for hid, cid, _, status in export_rows(r, engine):
        assert status == "done"
        members.setdefault(cid or "", set()).add(hid)
    return {frozenset(ids) for ids in members.values()}


def test_four_workers_make_the_same_stories_as_one(r, settings, redis_url):
    one = _stories(r, settings, redis_url, "one", 1)
    four = _stories(r, settings, redis_url, "four", 4)
    assert len(one) > 10
    assert four == one


def test_patience_counts_from_when_a_batch_reaches_the_head(r, engine):
    import threading

    turns.take(r, engine, ["slow", "next", "mine"])
    threading.Timer(0.2, turns.leave, (r, engine, "slow")).start()  # the head finishes after 0.2 s
    start = time.monotonic()
    turns.wait(r, engine, "mine", patience=0.3)
    # "next" headed the line from 0.2 s, so it may only be dropped from 0.5 s on, not at 0.3 s.
    assert time.monotonic() - start >= 0.45
    assert r.zscore(engine.keys.turns, "next") is None
