"""Two real RQ worker processes at once: nothing lost, nothing placed twice, no story opened twice."""

from __future__ import annotations

from collections import Counter

from headline_dedup.config import build_settings
from headline_dedup.engine import engine_for
from headline_dedup.queue import enqueue_ids
from headline_dedup.state.records import Status, Totals
from headline_dedup.store import export_rows, get_cluster, statuses, submit
from tests.helpers import DAY, SAMPLE, headline, load_sample, run_workers


def test_two_workers_place_everything_exactly_once(r, settings, redis_url):
    engine = engine_for(settings.model_copy(update={"batch_size": 15}))
    rows = load_sample(SAMPLE)
    # The same wire story arriving in many batches at once: the race that could open two stories.
    copies = [headline(f"copy{i}", "Breaking: Volcano erupts near Reykjavik, flights grounded", DAY)
              for i in range(40)]
    headlines = [headline(x["id"], x["title"], DAY, x["source"]) for x in rows]
    mixed = list(headlines)
    for i, copy in enumerate(copies):
        mixed.insert(i * 13, copy)
    ids = submit(r, engine, mixed)
    assert len(ids) == len(headlines) + len(copies)
    enqueue_ids(r, engine, ids)

    run_workers(redis_url, 2)

    exported = list(export_rows(r, engine))
    assert len(exported) == len(ids)
    assert all(status == "done" and cid for _, cid, _, status in exported)
    cluster_of = {hid: cid for hid, cid, _, _ in exported}
    # Every headline in exactly one members list, and sizes add up.
    members: Counter[str] = Counter()
    for cid in set(cluster_of.values()):
        assert cid is not None
        view = get_cluster(r, engine, cid, limit=10_000)
        assert view["size"] == len(view["headlines"])
        members.update(h["id"] for h in view["headlines"])
    assert members == Counter(ids)
    # All copies of the wire story in one story, all but one marked duplicates.
    assert len({cluster_of[h.id] for h in copies}) == 1
    dups = [d for hid, _, d, _ in exported if hid.startswith("copy")]
    assert sum(d is None for d in dups) == 1
    assert int(r.hget(engine.keys.stats, Totals.DONE)) == len(ids)
    assert r.zcard(engine.keys.queued) == 0


def test_worker_uses_the_jobs_namespace(r, settings, redis_url):
    other = engine_for(build_settings({"redis_url": redis_url, "namespace": "other"}))
    ids = submit(r, other, [headline("a", "Volcano erupts near Reykjavik")])
    enqueue_ids(r, other, ids)
    run_workers(redis_url, 1)
    assert statuses(r, other, ["a"]) == [Status.DONE]
    assert not r.exists(engine_for(settings).keys.headline("a"))
