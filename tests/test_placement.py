"""Placement decisions as pure functions: a Snapshot in, decisions and a write-set out. No Redis."""

from __future__ import annotations

import numpy as np

from headline_dedup.config import Settings
from headline_dedup.placement import (
    Batch,
    Item,
    assign,
    decide,
    dup_candidates,
    place,
    relevant_buckets,
    story_candidates,
    write_set,
)
from headline_dedup.state.snapshot import Snapshot
from headline_dedup.state.writer import LOCAL
from headline_dedup.stories import Centroid

S = Settings.model_validate({"window_seconds": 1000, "jaccard_threshold": 0.6, "cosine_threshold": 0.05,
                             "term_postings": 2, "embedding_weight": 0.0})
T0 = 10_000.0


def item(hid: str, *, digest: str = "", bucket: int = 5, bands: tuple[str, ...] = (), sig: list[int] | None = None,
         terms: tuple[int, ...] = (), published: float = T0) -> Item:
    return Item(id=hid, title=hid, source="", published=published, normalized=hid, digest=digest or f"d-{hid}",
                bucket=bucket, bands=list(bands), signature=np.array(sig or [ord(c) for c in hid * 10][:10]),
                terms=list(terms))


def snap_with(hid: str, cid: str, *, bucket: int = 5, digest: str = "", last_seen: float = T0,
              published: float = T0, bands: tuple[str, ...] = (), sig: list[int] | None = None) -> Snapshot:
    snap = Snapshot()
    snap.exact[bucket] = {digest or f"d-{hid}": (hid, published)}
    snap.lsh[bucket] = dict.fromkeys(bands, hid)
    if sig is not None:
        snap.signatures[hid] = np.array(sig)
    snap.cluster_of[hid] = cid
    snap.centroids[cid] = Centroid({1: 1.0}, 1, last_seen)
    return snap


def test_relevant_buckets_are_each_items_and_the_one_before():
    assert relevant_buckets([item("a", bucket=5), item("b", bucket=9), item("c", bucket=6)]) == [4, 5, 6, 8, 9]


def test_exact_copy_in_the_window_joins_the_first_story():
    for bucket in (5, 4):  # its own bucket and the one before
        snap = snap_with("old", "c1", bucket=bucket, digest="same", published=T0 - 10)
        decision, _ = decide(S, item("new", digest="same"), Batch(snap))
        assert (decision.cluster_id, decision.duplicate_of, decision.score, decision.new_cluster) == \
            ("c1", "old", 1.0, False)


def test_exact_copy_older_than_the_window_is_news_again():
    snap = snap_with("old", "c1", digest="same", published=T0 - 1000)  # exactly window_seconds ago
    decision, _ = decide(S, item("new", digest="same"), Batch(snap))
    assert decision.duplicate_of is None
    assert decision.new_cluster


def test_copy_of_a_closed_story_does_not_reopen_it():
    for last_seen, joins in ((T0 - 999, True), (T0 - 1000, False)):
        snap = snap_with("old", "c1", digest="same", published=T0, last_seen=last_seen)
        decision, _ = decide(S, item("new", digest="same"), Batch(snap))
        assert (decision.duplicate_of == "old") is joins


def test_near_copy_takes_the_most_similar_headline_above_the_threshold():
    base = list(range(10))
    snap = snap_with("weak", "c1", bands=("b1",), sig=base[:6] + [99] * 4)  # 0.6: at the threshold
    snap.lsh[5]["b2"] = "strong"
    snap.signatures["strong"] = np.array(base[:8] + [99] * 2)  # 0.8
    snap.cluster_of["strong"] = "c2"
    snap.centroids["c2"] = Centroid({1: 1.0}, 1, T0)
    decision, _ = decide(S, item("new", bands=("b1", "b2"), sig=base), Batch(snap))
    assert (decision.cluster_id, decision.duplicate_of) == ("c2", "strong")
    assert decision.score == 0.8


def test_near_copy_of_a_closed_story_does_not_reopen_it():
    base = list(range(10))
    for last_seen, joins in ((T0 - 999, True), (T0 - 1000, False)):
        snap = snap_with("old", "c1", bands=("b1",), sig=base, last_seen=last_seen)
        decision, _ = decide(S, item("new", bands=("b1",), sig=base), Batch(snap))
        assert (decision.duplicate_of == "old") is joins


def test_near_copy_below_the_threshold_is_no_copy():
    base = list(range(10))
    snap = snap_with("weak", "c1", bands=("b1",), sig=base[:5] + [99] * 5)  # 0.5
    decision, _ = decide(S, item("new", bands=("b1",), sig=base), Batch(snap))
    assert decision.duplicate_of is None
    assert decision.new_cluster
    assert decision.score == 0.0  # no story shares a term either


def test_near_copy_in_the_bucket_before_counts_and_its_original_is_named():
    base = list(range(10))
    snap = snap_with("copy", "c1", bucket=4, bands=("b1",), sig=base)
    snap.original_of["copy"] = "first"
    decision, _ = decide(S, item("new", bands=("b1",), sig=base), Batch(snap))
    assert (decision.cluster_id, decision.duplicate_of, decision.score) == ("c1", "first", 1.0)


def test_a_story_sharing_terms_takes_the_headline_and_new_stories_get_numbered_local_ids():
    snap = Snapshot(n_docs=10, df={1: 2, 2: 2})
    snap.postings[5] = {1: ["c1"]}
    snap.centroids["c1"] = Centroid({1: 1.0}, 3, T0)
    joined, vec = decide(S, item("a", terms=(1, 2)), Batch(snap))
    assert joined.cluster_id == "c1"
    assert not joined.new_cluster
    assert joined.duplicate_of is None
    assert joined.score >= S.cosine_threshold
    assert set(vec) == {1, 2}
    batch = assign(S, [item("x", terms=(7,)), item("y", terms=(8,))], Snapshot())
    assert [batch.decisions[h].cluster_id for h in ("x", "y")] == [f"{LOCAL}0", f"{LOCAL}1"]
    assert set(batch.new_clusters) == {f"{LOCAL}0", f"{LOCAL}1"}


def test_later_headlines_of_a_batch_see_the_earlier_ones():
    base = list(range(10))
    a = item("a", digest="t", bands=("b",), sig=base, terms=(1, 2))
    b = item("b", digest="t", bands=("b",), sig=base, terms=(1, 2))
    c = item("c", digest="other", bands=("b",), sig=base, terms=(1, 3))
    batch = assign(S, [a, b, c], Snapshot())
    assert batch.decisions["a"].new_cluster
    assert (batch.decisions["b"].cluster_id, batch.decisions["b"].duplicate_of) == (f"{LOCAL}0", "a")
    assert (batch.decisions["c"].cluster_id, batch.decisions["c"].duplicate_of) == (f"{LOCAL}0", "a")
    assert batch.df_added == {1: 3, 2: 2, 3: 1}
    assert batch.snap.exact[5] == {"t": ("a", T0), "other": ("c", T0)}  # the first with a title keeps it
    assert batch.snap.centroids[f"{LOCAL}0"].size == 3
    written = write_set([a, b, c], batch, window_ttl=77)
    assert written.buckets[5].exact == {"t": ("a", T0), "other": ("c", T0)}
    assert written.buckets[5].lsh == {"b": "c"}
    assert set(written.buckets[5].signatures) == {"a", "b", "c"}
    assert [(p.id, p.cluster, p.duplicate_of) for p in written.placed] == \
        [("a", f"{LOCAL}0", None), ("b", f"{LOCAL}0", "a"), ("c", f"{LOCAL}0", "a")]
    assert set(written.new_stories) == {f"{LOCAL}0"}
    assert set(written.centroids) == {f"{LOCAL}0"}
    assert written.window_ttl == 77
    assert written.buckets[5].postings == {1: [f"{LOCAL}0"], 2: [f"{LOCAL}0"], 3: [f"{LOCAL}0"]}


def test_a_story_goes_first_in_its_terms_postings_capped_at_term_postings():
    snap = Snapshot()
    snap.postings[5] = {1: ["c2", "c3"], 2: ["c1"], 4: ["c2", "c1"]}
    snap.centroids["c1"] = Centroid({9: 1.0}, 1, T0)
    batch = Batch(snap)
    it = item("a", terms=(1, 2, 3, 4))
    decision, vec = decide(S, it, batch)
    decision.cluster_id, decision.new_cluster = "c1", False  # placed in c1 whatever it scored
    place(S, it, decision, vec, batch)
    assert snap.postings[5] == {1: ["c1", "c2"], 2: ["c1"], 3: ["c1"], 4: ["c1", "c2"]}  # 4: c1 moved up
    assert batch.posted[5] == {1, 3, 4}  # term 2 already had c1 first: nothing to write
    assert batch.touched == {"c1"}


def test_a_story_closed_since_the_read_is_left_alone():
    batch = Batch(Snapshot())
    it = item("a", terms=(1,))
    decision, vec = decide(S, it, batch)
    decision.cluster_id, decision.new_cluster = "gone", False
    place(S, it, decision, vec, batch)
    assert batch.touched == set()
    assert batch.snap.postings == {}
    assert batch.decisions["a"] is decision


def test_candidates_name_what_placement_may_read():
    snap = snap_with("old", "c1", bucket=4, digest="same", bands=("b1",))
    snap.lsh[5] = {"b2": "other"}
    snap.postings[4] = {1: ["c7"]}
    snap.postings[5] = {2: ["c8"], 3: ["c9"]}
    it = item("new", digest="same", bands=("b1", "b2", "b3"), terms=(1, 2))
    assert dup_candidates([it], snap) == {4: {"old"}, 5: {"other"}}
    assert story_candidates([it], snap) == {"c1", "c7", "c8"}
