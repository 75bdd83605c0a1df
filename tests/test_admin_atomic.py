"""An admin action and its log entry are one atomic write (issue 13, case 10): a crash right after the
action's write cannot leave an action that is not logged, so every action can still be undone."""

from __future__ import annotations

import pytest

from headline_dedup import admin, history
from headline_dedup.state import outbox, writer
from headline_dedup.store import get_cluster, get_headline
from tests.helpers import BOTH, headline, place

CLUSTER = pytest.mark.parametrize("backend", ["cluster"], indirect=True)

VOLCANO = ["Volcano erupts in Iceland, ash cloud grounds flights", "Iceland volcano ash cloud grounds European flights"]
QUAKE = ["Strong earthquake shakes Chile coast, tsunami warning issued", "Chile earthquake triggers tsunami warning",
         "Tsunami warning lifted after Chile earthquake"]


class Crash(Exception):
    """The process dying right after the action's write reached Redis."""


@pytest.fixture
def crash_after_write(monkeypatch):
    """Every atomic write of the state layer completes, then the caller 'dies' before anything else runs."""
    real = outbox.commit

    def commit_then_die(*args, **kwargs):
        real(*args, **kwargs)
        raise Crash

    def arm() -> None:
        monkeypatch.setattr(outbox, "commit", commit_then_die)
        monkeypatch.setattr(writer, "commit", commit_then_die)

    def disarm() -> None:
        monkeypatch.setattr(outbox, "commit", real)
        monkeypatch.setattr(writer, "commit", real)

    return arm, disarm


def story(r, engine, prefix: str, titles: list[str]) -> str:
    placed = place(r, engine, [headline(f"{prefix}{i}", t) for i, t in enumerate(titles)])
    assert len({h["cluster_id"] for h in placed}) == 1, placed
    return placed[0]["cluster_id"]


@BOTH
def test_a_merge_that_dies_after_its_write_is_logged_and_can_be_undone(r, engine, crash_after_write):
    arm, disarm = crash_after_write
    a, b = story(r, engine, "v", VOLCANO), story(r, engine, "q", QUAKE)
    arm()
    with pytest.raises(Crash):
        admin.merge(r, engine, a, [b])
    disarm()
    assert get_headline(r, engine, "q0")["cluster_id"] == a  # the merge happened...
    (logged,) = history.recent(r, engine)  # ...and so did its log entry (before the fix: none)
    assert (logged.kind, logged.clusters) == ("merge", [a, b])
    admin.undo(r, engine, logged.id)
    assert get_headline(r, engine, "q0")["cluster_id"] == b
    assert get_cluster(r, engine, a)["size"] == 2 and get_cluster(r, engine, b)["size"] == 3


@BOTH
def test_a_split_that_dies_after_its_write_is_logged_and_can_be_undone(r, engine, crash_after_write):
    arm, disarm = crash_after_write
    q = story(r, engine, "q", QUAKE)
    arm()
    with pytest.raises(Crash):
        admin.split(r, engine, q, ["q2"])
    disarm()
    new = get_headline(r, engine, "q2")["cluster_id"]
    assert new != q
    (logged,) = history.recent(r, engine)
    assert (logged.kind, logged.clusters) == ("split", [q, new])
    admin.undo(r, engine, logged.id)
    assert get_headline(r, engine, "q2")["cluster_id"] == q and get_cluster(r, engine, q)["size"] == 3


@BOTH
def test_an_undo_that_dies_after_its_write_is_logged_and_marks_the_action_undone(r, engine, crash_after_write):
    arm, disarm = crash_after_write
    a, b = story(r, engine, "v", VOLCANO), story(r, engine, "q", QUAKE)
    merged = admin.merge(r, engine, a, [b])
    arm()
    with pytest.raises(Crash):
        admin.undo(r, engine, merged)
    disarm()
    assert get_headline(r, engine, "q0")["cluster_id"] == b
    undo, merge = history.recent(r, engine)
    assert (undo.kind, undo.data, merge.id, merge.undone) == ("undo", {"of": merged}, merged, True)


@CLUSTER  # one Redis has no outbox: the whole action is one script
def test_on_a_cluster_a_merge_that_dies_before_its_outbox_is_applied_is_logged_and_finished(r, engine, monkeypatch):
    a, b = story(r, engine, "v", VOLCANO), story(r, engine, "q", QUAKE)
    real = outbox._apply

    def die(*args, **kwargs):
        raise Crash

    monkeypatch.setattr(outbox, "_apply", die)
    with pytest.raises(Crash):
        admin.merge(r, engine, a, [b])
    monkeypatch.setattr(outbox, "_apply", real)
    (logged,) = history.recent(r, engine)  # logged with the partition's part of the write
    assert logged.kind == "merge"
    admin.undo(r, engine, logged.id)  # takes the lock: finishes the outbox entry first, then reverses it
    assert get_headline(r, engine, "q0")["cluster_id"] == b and get_cluster(r, engine, b)["size"] == 3
