"""Admin actions against a real Redis: merge, split, label, undo, history, lists, stats, requeue."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading

import pytest
from typer.testing import CliRunner

from headline_dedup import admin, history, overview, procs
from headline_dedup.cli import app
from headline_dedup.errors import AdminError
from headline_dedup.state.records import Headline, Totals
from headline_dedup.store import export_rows, get_cluster, get_headline, submit
from tests.helpers import BOTH, DAY, SAMPLE, headline, load_sample, place

pytestmark = BOTH

runner = CliRunner()

VOLCANO = ["Volcano erupts in Iceland, ash cloud grounds flights", "Iceland volcano ash cloud grounds European flights"]
QUAKE = ["Strong earthquake shakes Chile coast, tsunami warning issued", "Chile earthquake triggers tsunami warning"]
APPLE = ["Apple unveils new iPhone with larger screen", "Apple shows off larger iPhone at launch event"]


def story(r, engine, prefix: str, titles: list[str]) -> str:
    placed = place(r, engine, [headline(f"{prefix}{i}", t) for i, t in enumerate(titles)])
    assert len({h["cluster_id"] for h in placed}) == 1, placed
    return placed[0]["cluster_id"]


def snapshot(r) -> dict:
    return {k: r.dump(k) for k in sorted(r.keys("*"))}


def test_merge_moves_every_member_and_every_read_agrees(r, engine):
    a, b = story(r, engine, "v", VOLCANO), story(r, engine, "q", QUAKE)
    admin.merge(r, engine, a, [b])
    assert get_headline(r, engine, "q0")["cluster_id"] == a
    target = get_cluster(r, engine, a)
    assert target["size"] == 4
    assert {h["id"] for h in target["headlines"]} == {"v0", "v1", "q0", "q1"}
    source = get_cluster(r, engine, b)
    assert source["merged_into"] == a and source["size"] == 0
    assert {cid for _, cid, _, _ in export_rows(r, engine)} == {a}
    # The centroid followed: a new quake headline joins the merged story, not a new one.
    (new,) = place(r, engine, [headline("q9", "Tsunami warning after Chile earthquake")])
    assert new["cluster_id"] == a


def test_merge_chains_resolve(r, engine):
    a, b, c = story(r, engine, "v", VOLCANO), story(r, engine, "q", QUAKE), story(r, engine, "p", APPLE)
    admin.merge(r, engine, b, [a])
    admin.merge(r, engine, c, [b])
    assert get_cluster(r, engine, a)["merged_into"] == c
    assert get_headline(r, engine, "v0")["cluster_id"] == c
    assert get_cluster(r, engine, c)["size"] == 6


@pytest.mark.parametrize("case", ["self", "unknown", "merged", "none"])
def test_bad_merges_fail_and_change_nothing(r, engine, case):
    a, b = story(r, engine, "v", VOLCANO), story(r, engine, "q", QUAKE)
    c = story(r, engine, "p", APPLE)
    admin.merge(r, engine, c, [b])
    before = snapshot(r)
    target, sources, message = {
        "self": (a, [a], "into itself"),
        "unknown": (a, ["999"], "no cluster with id '999'"),
        "merged": (a, [b], f"already merged into {c}"),
        "none": (a, [], "at least one SOURCE"),
    }[case]
    with pytest.raises(AdminError, match=message):
        admin.merge(r, engine, target, sources)
    assert snapshot(r) == before


def test_merge_cli_failure_is_a_clean_message(r, engine, state_url):
    a = story(r, engine, "v", VOLCANO)
    result = subprocess.run([sys.executable, "-m", "headline_dedup.cli", "merge", a, a, "--redis-url", state_url],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "cannot merge cluster" in result.stderr and "Traceback" not in result.stderr


def test_split_moves_headlines_to_a_new_cluster(r, engine):
    a = story(r, engine, "v", [*VOLCANO, "Iceland volcano ash cloud disrupts flights across Europe"])
    new, _ = admin.split(r, engine, a, ["v2"])
    assert new != a
    assert get_headline(r, engine, "v2")["cluster_id"] == new
    assert get_cluster(r, engine, new)["size"] == 1
    assert get_cluster(r, engine, a)["size"] == 2
    assert [h["id"] for h in get_cluster(r, engine, a)["headlines"]] == ["v0", "v1"]
    with pytest.raises(AdminError, match="not"):
        admin.split(r, engine, a, ["v2"])
    with pytest.raises(AdminError, match="every headline"):
        admin.split(r, engine, a, ["v0", "v1"])
    with pytest.raises(AdminError, match="no placed headline"):
        admin.split(r, engine, a, ["nope"])


def test_split_regroups_copies_parted_from_their_original(r, engine):
    # d0 is the original; d1, d2, d3 copy it. Splitting off d2 and d3 leaves their original behind:
    # d2 (the first of them to join) becomes the original of the new story, d3 names d2. Undo puts back.
    title = "Volcano erupts in Iceland, ash cloud grounds flights"
    cid = story(r, engine, "d", [title, title + " - Reuters", title.upper(), title + " (AP)"])
    dups_before = int(r.hget(engine.keys.stats, Totals.DUPLICATES))
    new, action = admin.split(r, engine, cid, ["d3", "d2"])
    found = {hid: get_headline(r, engine, hid)["duplicate_of"] for hid in ("d0", "d1", "d2", "d3")}
    assert found == {"d0": None, "d1": "d0", "d2": None, "d3": "d2"}
    assert get_headline(r, engine, "d3")["cluster_id"] == new
    assert int(r.hget(engine.keys.stats, Totals.DUPLICATES)) == dups_before - 1
    # A later copy finds the first headline of its text (d0) and joins its story.
    (late,) = place(r, engine, [headline("d4", title.upper() + " - Reuters")])
    assert (late["cluster_id"], late["duplicate_of"]) == (cid, "d0")
    admin.split(r, engine, cid, ["d4"])  # parted from d0, and alone: no copy of anything in its story
    assert get_headline(r, engine, "d4")["duplicate_of"] is None
    assert [get_headline(r, engine, h)["duplicate_of"] for h in ("d0", "d1")] == [None, "d0"]
    with pytest.raises(AdminError, match="changed"):
        admin.undo(r, engine, action)


def test_undo_of_a_split_restores_duplicate_of(r, engine):
    title = "Chile earthquake triggers tsunami warning"
    cid = story(r, engine, "e", [title, title + " - Reuters", title.upper()])
    _, action = admin.split(r, engine, cid, ["e1", "e2"])
    assert get_headline(r, engine, "e2")["duplicate_of"] == "e1"
    admin.undo(r, engine, action)
    assert [get_headline(r, engine, h)["duplicate_of"] for h in ("e0", "e1", "e2")] == [None, "e0", "e0"]
    assert int(r.hget(engine.keys.stats, Totals.DUPLICATES)) == 2


def test_label_is_used_by_reads(r, engine):
    a = story(r, engine, "v", VOLCANO)
    admin.label(r, engine, a, "Eyjafjallajokull erupts")
    assert get_cluster(r, engine, a)["title"] == "Eyjafjallajokull erupts"
    assert overview.list_clusters(r, engine)[0]["title"] == "Eyjafjallajokull erupts"


def test_undo_reverts_merge_split_and_label(r, engine):
    a, b = story(r, engine, "v", VOLCANO), story(r, engine, "q", QUAKE)
    before = {hid: get_headline(r, engine, hid)["cluster_id"] for hid in ("v0", "v1", "q0", "q1")}
    merged = admin.merge(r, engine, a, [b])
    admin.undo(r, engine, merged)
    assert {hid: get_headline(r, engine, hid)["cluster_id"] for hid in before} == before
    assert get_cluster(r, engine, b)["size"] == 2 and "merged_into" not in get_cluster(r, engine, b)
    assert get_cluster(r, engine, a)["size"] == 2
    with pytest.raises(AdminError, match="already undone"):
        admin.undo(r, engine, merged)

    _new, split_id = admin.split(r, engine, a, ["v1"])
    admin.undo(r, engine, split_id)
    assert get_headline(r, engine, "v1")["cluster_id"] == a
    assert get_cluster(r, engine, a)["size"] == 2

    labelled = admin.label(r, engine, a, "Volcano")
    admin.undo(r, engine, labelled)
    assert get_cluster(r, engine, a)["title"] == VOLCANO[0]


def test_undo_refuses_when_something_moved_since(r, engine):
    a, b = story(r, engine, "v", VOLCANO), story(r, engine, "q", QUAKE)
    merged = admin.merge(r, engine, a, [b])
    place(r, engine, [headline("q9", "Tsunami warning after Chile earthquake")])
    with pytest.raises(AdminError, match="changed since"):
        admin.undo(r, engine, merged)
    c = story(r, engine, "p", APPLE)
    admin.merge(r, engine, c, [a])
    first = history.recent(r, engine)[-1].id
    with pytest.raises(AdminError, match="undo it first"):
        admin.undo(r, engine, first)


def test_history_lists_actions_newest_first(r, engine, state_url):
    a, b = story(r, engine, "v", VOLCANO), story(r, engine, "q", QUAKE)
    admin.merge(r, engine, a, [b])
    admin.label(r, engine, a, "Disasters")
    result = runner.invoke(app, ["history", "--json", "--redis-url", state_url])
    actions = json.loads(result.stdout)["actions"]
    assert [x["kind"] for x in actions] == ["label", "merge"]
    assert actions[1]["clusters"] == [a, b]


def test_clusters_stats_and_cli_output(r, engine, state_url):
    a = story(r, engine, "v", [*VOLCANO, "Iceland volcano ash cloud disrupts flights across Europe"])
    story(r, engine, "q", QUAKE)
    result = runner.invoke(app, ["clusters", "--top", "1", "--json", "--redis-url", state_url])
    assert [row["cluster_id"] for row in json.loads(result.stdout)["clusters"]] == [a]
    later = place(r, engine, [headline("p0", APPLE[0], published=DAY + 86400)])[0]["cluster_id"]
    newest = json.loads(runner.invoke(app, ["clusters", "--newest", "--top", "1", "--json",
                                            "--redis-url", state_url]).stdout)["clusters"]
    assert newest[0]["cluster_id"] == later
    since = json.loads(runner.invoke(app, ["clusters", "--since", "2014-03-25", "--json",
                                           "--redis-url", state_url]).stdout)["clusters"]
    assert [row["cluster_id"] for row in since] == [later]
    numbers = json.loads(runner.invoke(app, ["stats", "--json", "--redis-url", state_url]).stdout)
    assert numbers["headlines"] == 6 and numbers["clusters"] == 3 and numbers["redis_memory_bytes"] > 0
    for command in (["merge", a, later], ["label", a, "Volcano"], ["split", a, "v2"]):
        result = runner.invoke(app, [*command, "--redis-url", state_url])
        assert result.exit_code == 0, result.output
        assert "action" in result.output


def test_requeue_failed_puts_jobs_back(r, engine, state_url):
    from rq.job import Job
    from rq.registry import FailedJobRegistry

    from headline_dedup.queue import get_queue

    queue = get_queue(r, engine)
    job = Job.create("headline_dedup.workers.jobs.process_batch", args=("hd", []), connection=queue.connection, origin=queue.name)
    job.save()
    FailedJobRegistry(queue=queue).add(job, ttl=600, exc_string="boom")
    result = runner.invoke(app, ["requeue-failed", "--redis-url", state_url])
    assert result.exit_code == 0
    assert FailedJobRegistry(queue=queue).count == 0
    assert job.id in queue.job_ids


@pytest.mark.slow
def test_merges_and_splits_while_workers_place_headlines_lose_nothing(r, engine, state_url):
    from headline_dedup.queue import enqueue_ids

    rows = load_sample(SAMPLE)
    first = [headline(x["id"], x["title"], DAY, x["source"]) for x in rows[:200]]
    ids = submit(r, engine, first)
    for i in range(0, len(ids), 50):
        from headline_dedup.pipeline import process_batch

        process_batch(r, engine, ids[i : i + 50])
    rest = [headline(x["id"], x["title"], DAY, x["source"]) for x in rows[200:]]
    small = engine.__class__(engine.settings.model_copy(update={"batch_size": 10}))
    enqueue_ids(r, small, submit(r, engine, rest))
    env = {**os.environ, "REDIS_URL": state_url}
    children = procs.Children()
    workers = [children.add(procs.python("headline_dedup.workers", "--burst", env=env)) for _ in range(2)]
    merges = splits = 0

    def merge_and_split_while_busy() -> None:
        nonlocal merges, splits
        while any(w.poll() is None for w in workers):
            top = overview.list_clusters(r, engine, top=2)
            if len(top) < 2:
                continue
            # A batch's own merge pass may move a story between our read and our action: the action
            # then fails cleanly (AdminError), changes nothing, and we try again next round.
            with contextlib.suppress(AdminError):
                admin.merge(r, engine, top[0]["cluster_id"], [top[1]["cluster_id"]])
                merges += 1
                members = get_cluster(r, engine, top[0]["cluster_id"], limit=3)["headlines"]
                admin.split(r, engine, top[0]["cluster_id"], [members[-1]["id"]])
                splits += 1

    thread = threading.Thread(target=merge_and_split_while_busy)
    with children:
        thread.start()
        for w in workers:
            assert w.wait(timeout=240) == 0
        thread.join()
    assert merges > 0 and splits > 0
    exported = list(export_rows(r, engine))
    assert len(exported) == len(rows) and all(st == "done" for *_, st in exported)
    members: dict[str, str] = {}
    for cid in {c for _, c, _, _ in exported}:
        assert cid is not None, "a done headline without a cluster"
        view = get_cluster(r, engine, cid, limit=10_000)
        assert "merged_into" not in view, f"headlines left on merged cluster {cid}"
        assert view["size"] == len(view["headlines"])
        for h in view["headlines"]:
            assert h["id"] not in members
            members[h["id"]] = cid
    assert members == {hid: cid for hid, cid, _, _ in exported}


def test_merging_a_story_whose_headlines_have_no_content_words(r, engine):
    from headline_dedup.merge import moved_postings

    r.hset(engine.keys.headline("w1"), mapping={Headline.TITLE: "What they said", Headline.SOURCE: "",
                                                Headline.PUBLISHED: "1395662400.0"})
    assert moved_postings(r, engine, {"1": "2"}, ["w1"]) == {}
