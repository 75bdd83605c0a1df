"""Partitions: each headline in one, stories never cross, each placed under its own lock and window."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from headline_dedup import admin, history
from headline_dedup.api.app import create_app
from headline_dedup.cli import app as cli
from headline_dedup.config import get_settings
from headline_dedup.engine import Engine, engine_for
from headline_dedup.errors import AdminError, BadInputError
from headline_dedup.intake import parse_headline
from headline_dedup.pipeline import lookup, process_batch
from headline_dedup.queue import enqueue_ids
from headline_dedup.state.keys import Keys
from headline_dedup.state.records import Story
from headline_dedup.store import NewHeadline, get_headline, submit
from tests.helpers import BOTH, DAY, FED, drain

VOLCANO = ["Volcano erupts in Iceland, ash cloud grounds flights", "Iceland volcano ash cloud grounds European flights"]


@pytest.fixture
def by_field(settings, monkeypatch) -> Engine:
    # Workers read partition_by from the environment, as in production.
    monkeypatch.setenv("HEADLINES_PARTITION_BY", "field")
    get_settings.cache_clear()
    return engine_for(settings.model_copy(update={"partition_by": "field"}))


def news(hid: str, title: str, partition: str) -> NewHeadline:
    return NewHeadline(hid, title, "", DAY, partition)


def test_a_partitions_window_keys_share_one_hash_tag_and_the_default_keeps_its_names():
    keys = Keys("hd")
    part = keys.part("en-US")
    window = [part.centroid("7"), part.open_clusters, *part.bucket_keys(3), part.buckets, part.df, part.df_total,
              part.turns, part.assign_lock, part.unplaced]
    assert all("{p:en-US}" in key and key.count("{") == 1 for key in window)
    assert keys.centroid("7") == "hd:cent:7" and keys.assign_lock == "hd:lock:assign"  # as before partitions
    # Permanent records are keyed by their own ids, whatever the partition.
    assert part.headline("a") == keys.headline("a") and part.cluster("1") == keys.cluster("1")


@BOTH
def test_the_same_story_in_two_partitions_makes_two_stories(r, by_field):
    ids = submit(r, by_field, [news("a1", VOLCANO[0], "a"), news("b1", VOLCANO[0], "b"),
                               news("a2", VOLCANO[1], "a"), news("b2", VOLCANO[1], "b")])
    assert len(enqueue_ids(r, by_field, ids)) == 2  # one batch per partition
    drain(r, by_field)
    a1, a2, b1, b2 = (get_headline(r, by_field, h) for h in ("a1", "a2", "b1", "b2"))
    assert a1["cluster_id"] == a2["cluster_id"] != b1["cluster_id"] == b2["cluster_id"]
    assert b1["duplicate_of"] is None  # the same title in another partition is no duplicate
    assert r.hget(by_field.keys.cluster(b1["cluster_id"]), Story.PARTITION) == b"b"
    assert r.exists(by_field.keys.part("a").centroid(a1["cluster_id"]))
    assert not r.exists(by_field.keys.centroid(a1["cluster_id"]))  # nothing in the default partition's window
    assert lookup(r, by_field, VOLCANO[1], DAY, "b").cluster_id == b1["cluster_id"]


@BOTH
def test_jobs_are_queued_one_partition_after_another(r, by_field):
    # Workers take jobs in queue order: partition a's batches all first would set two workers on a's
    # consecutive batches, each waiting for the other's turn, while b's sat in the queue.
    small = engine_for(by_field.settings.model_copy(update={"batch_size": 2}))
    # a's six headlines first (three batches), then b's two (one), as one submission of a big file may hold them.
    stream = [news(f"a{i}", f"a headline number {i}", "a") for i in range(6)]
    stream += [news(f"b{i}", f"b headline number {i}", "b") for i in range(2)]
    jobs = enqueue_ids(r, small, submit(r, small, stream))
    assert [job.args[2] for job in jobs] == ["a", "b", "a", "a"]
    drain(r, small)
    assert all(get_headline(r, small, h.id)["status"] == "done" for h in stream)


@BOTH
def test_one_partition_places_while_another_holds_its_lock(r, by_field):
    ids = submit(r, by_field, [news("b1", FED, "b")])
    placed: list[int] = []
    with by_field.lock(r, "a"):
        worker = threading.Thread(target=lambda: placed.append(process_batch(r, by_field, ids, "b")))
        worker.start()
        worker.join(timeout=120)
    assert placed == [1]


def test_a_partition_is_checked_like_an_id(settings):
    field = settings.model_copy(update={"partition_by": "field"})
    assert parse_headline({"title": FED, "partition": "en-US"}, field).partition == "en-US"
    assert parse_headline({"title": FED}, field).partition == ""
    assert parse_headline({"title": FED, "partition": "en-US"}, settings).partition == ""  # partition_by: none
    for bad, reason in (("en US", "spaces"), ("{x}", "'{'"), (7.5, "string"), ("x" * 201, "longer")):
        with pytest.raises(BadInputError, match=reason):
            parse_headline({"title": FED, "partition": bad}, field)


def test_the_api_and_the_cli_take_a_partition(r, by_field, redis_url, tmp_path: Path):
    with TestClient(create_app(by_field.settings, r)) as api:
        assert api.post("/headlines", json={"id": "x", "title": FED, "partition": "a b"}).status_code == 422
        assert api.post("/headlines", json={"id": "x", "title": FED, "partition": "desk"}).status_code == 202
    feed = tmp_path / "feed.csv"
    feed.write_text(f"id,title,partition\ny,\"{VOLCANO[0]}\",desk\nz,{VOLCANO[1]},other\n")
    result = CliRunner().invoke(cli, ["ingest", str(feed), "--redis-url", redis_url])
    assert result.exit_code == 0, result.output
    drain(r, by_field)
    x, y, z = (get_headline(r, by_field, h) for h in "xyz")
    assert x["status"] == y["status"] == z["status"] == "done"
    assert y["cluster_id"] != z["cluster_id"]  # same story, other partitions


def test_jobs_of_the_default_partition_keep_their_arguments(r, engine):
    ids = submit(r, engine, [NewHeadline("a", FED, "", DAY)])
    (job,) = enqueue_ids(r, engine, ids)
    assert job.args == (engine.settings.namespace, ["a"])


@BOTH
def test_an_admin_action_across_partitions_is_refused(r, by_field):
    ids = submit(r, by_field, [news("a1", VOLCANO[0], "a"), news("b1", FED, "b")])
    process_batch(r, by_field, ["a1"], "a")
    process_batch(r, by_field, ["b1"], "b")
    a, b = (get_headline(r, by_field, h)["cluster_id"] for h in ids)
    with pytest.raises(AdminError, match="cannot cross partitions"):
        admin.merge(r, by_field, a, [b])
    assert get_headline(r, by_field, "b1")["cluster_id"] == b


@BOTH
def test_admin_actions_inside_a_partition_use_its_window(r, by_field):
    submit(r, by_field, [news("a1", VOLCANO[0], "a"), news("a2", FED, "a")])
    process_batch(r, by_field, ["a1", "a2"], "a")
    a1, a2 = (get_headline(r, by_field, h)["cluster_id"] for h in ("a1", "a2"))
    admin.merge(r, by_field, a1, [a2])
    assert not r.exists(by_field.keys.part("a").centroid(a2))
    new, _ = admin.split(r, by_field, a1, ["a2"])
    assert r.hget(by_field.keys.cluster(new), Story.PARTITION) == b"a"
    assert r.exists(by_field.keys.part("a").centroid(new))


@BOTH
def test_the_admin_log_holds_every_partitions_actions_and_each_undoes(r, by_field):
    # On a cluster each partition logs in its own slot (with the action, atomically): reads go over all.
    submit(r, by_field, [news("a1", VOLCANO[0], "a"), news("a2", FED, "a"),
                         news("b1", VOLCANO[0], "b"), news("b2", FED, "b")])
    process_batch(r, by_field, ["a1", "a2"], "a")
    process_batch(r, by_field, ["b1", "b2"], "b")
    a1, a2, b1 = (get_headline(r, by_field, h)["cluster_id"] for h in ("a1", "a2", "b1"))
    in_a = admin.merge(r, by_field, a1, [a2])
    in_b = admin.label(r, by_field, b1, "Volcano")
    assert {a.id for a in history.recent(r, by_field)} == {in_a, in_b}
    admin.undo(r, by_field, in_a)
    admin.undo(r, by_field, in_b)
    assert get_headline(r, by_field, "a2")["cluster_id"] == a2
    assert {(a.kind, a.undone) for a in history.recent(r, by_field)} == {("merge", True), ("label", True),
                                                                          ("undo", False)}


def test_partition_by_language_detects_each_titles_language(settings):
    by_language = settings.model_copy(update={"partition_by": "language"})
    english = parse_headline({"title": "Volcano erupts in Iceland, ash cloud grounds flights"}, by_language)
    german = parse_headline({"title": "Vulkanausbruch auf Island: Aschewolke legt den Flugverkehr lahm"},
                            by_language)
    assert (english.partition, german.partition) == ("en", "de")
