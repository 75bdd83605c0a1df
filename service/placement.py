"""Where each headline of a batch goes: pure functions from a Snapshot to a write-set. No Redis here.

decide() scores one headline against the batch's view of the window (exact copy, MinHash near copy, or
the best open story by TF-IDF cosine plus the embedding blend); place() records that decision in the
batch's working copy, so later headlines of the batch see it; write_set() says what the state layer must
store (state.writer.BatchWrite).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from headline_dedup.config import Settings
from headline_dedup.dedup import jaccard
from headline_dedup.state.snapshot import Snapshot
from headline_dedup.state.writer import LOCAL, BatchWrite, BucketWrites, NewStory, Placed
from headline_dedup.stories import Centroid, best_story, rank_candidates, tfidf


@dataclass
class Item:
    """One headline on its way through the pipeline."""

    id: str
    title: str
    source: str
    published: float
    normalized: str
    digest: str
    bucket: int
    bands: list[str]
    signature: np.ndarray
    terms: list[int]
    embedding: np.ndarray | None = None  # unit vector (service.embedding), when the signal is on


@dataclass
class Decision:
    cluster_id: str
    duplicate_of: str | None
    score: float
    new_cluster: bool


@dataclass
class Batch:
    """The batch's working copy of the window state, updated headline by headline."""

    snap: Snapshot
    decisions: dict[str, Decision] = field(default_factory=dict)
    new_clusters: dict[str, Item] = field(default_factory=dict)  # local id -> first headline
    touched: set[str] = field(default_factory=set)
    df_added: dict[int, int] = field(default_factory=dict)
    posted: dict[int, set[int]] = field(default_factory=dict)  # bucket -> terms whose postings changed


def relevant_buckets(items: Iterable[Item]) -> list[int]:
    """A headline may match window state of its own bucket and the one before."""
    return sorted({b for it in items for b in (it.bucket, it.bucket - 1)})


def dup_candidates(items: list[Item], snap: Snapshot) -> dict[int, set[str]]:
    """Bucket -> headlines the batch may duplicate, whose signatures and stories placement needs."""
    wanted: dict[int, set[str]] = {}
    for it in items:
        for b in (it.bucket, it.bucket - 1):
            hit = snap.exact.get(b, {}).get(it.digest)
            if hit:
                wanted.setdefault(b, set()).add(hit[0])
            lsh = snap.lsh.get(b, {})
            wanted.setdefault(b, set()).update(lsh[f] for f in it.bands if f in lsh)
    return wanted


def story_candidates(items: list[Item], snap: Snapshot) -> set[str]:
    """Stories whose centroids placement may need."""
    # Every story posted under any of the batch's terms: ranking them first (as decide does) pruned
    # about 1% of the centroids to fetch on dev.csv, for a TF-IDF vector and a sort per headline.
    wanted: set[str] = set()
    for it in items:
        for index in _postings_for(snap, it):
            for t in it.terms:
                wanted.update(index.get(t, ()))
    wanted.update(snap.cluster_of.values())
    return wanted


def _postings_for(snap: Snapshot, it: Item) -> list[dict[int, list[str]]]:
    return [snap.postings.get(it.bucket, {}), snap.postings.get(it.bucket - 1, {})]


def _exact_duplicate(s: Settings, it: Item, batch: Batch) -> str | None:
    for b in (it.bucket, it.bucket - 1):
        hit = batch.snap.exact.get(b, {}).get(it.digest)
        if hit:
            hid, published = hit
            if it.published - published < s.window_seconds and _joinable(s, hid, it, batch):
                return hid
    return None


def _near_duplicate(s: Settings, it: Item, batch: Batch) -> tuple[str | None, float]:
    snap = batch.snap
    seen: set[str] = set()
    best: tuple[str | None, float] = (None, 0.0)
    for b in (it.bucket, it.bucket - 1):
        lsh = snap.lsh.get(b, {})
        for band in it.bands:
            hid = lsh.get(band)
            if hid is None or hid in seen or hid == it.id:
                continue
            seen.add(hid)
            sig = snap.signatures.get(hid)
            if sig is None or not _joinable(s, hid, it, batch):
                continue
            score = jaccard(it.signature, sig)
            if score >= s.jaccard_threshold and score > best[1]:
                best = (hid, score)
    return best


def _joinable(s: Settings, hid: str, it: Item, batch: Batch) -> bool:
    # A copy of an old headline is news again once its story has closed: it must not reopen the story.
    cid = _cluster_of(hid, batch)
    centroid = batch.snap.centroids.get(cid) if cid else None
    return centroid is not None and it.published - centroid.last_seen < s.window_seconds


def _original(hid: str, batch: Batch) -> str:
    """The first headline of hid's group: a copy of a copy names the headline both copy."""
    decided = batch.decisions.get(hid)
    if decided is not None:
        return decided.duplicate_of or hid
    return batch.snap.original_of.get(hid, hid)


def _cluster_of(hid: str, batch: Batch) -> str | None:
    if hid in batch.decisions:
        return batch.decisions[hid].cluster_id
    return batch.snap.cluster_of.get(hid)


def decide(s: Settings, it: Item, batch: Batch) -> tuple[Decision, dict[int, float]]:
    """Where one headline goes, given the batch's view of the window. Changes nothing."""
    snap = batch.snap
    df = {t: snap.df.get(t, 0) + batch.df_added.get(t, 0) for t in it.terms}
    vec = tfidf(it.terms, df, snap.n_docs + len(batch.decisions))
    dup = _exact_duplicate(s, it, batch)
    if dup:
        return Decision(_cluster_of(dup, batch) or "", _original(dup, batch), 1.0, False), vec
    near, similarity = _near_duplicate(s, it, batch)
    if near:
        return Decision(_cluster_of(near, batch) or "", _original(near, batch), similarity, False), vec
    candidates = rank_candidates(vec, _postings_for(snap, it), s.max_candidates)
    match = best_story(vec, it.published, candidates, snap.centroids, s.window_seconds, s.time_penalty,
                       s.small_story_penalty, it.embedding, s.embedding_weight, s.embedding_baseline)
    if match.cluster_id and match.score >= s.cosine_threshold:
        return Decision(match.cluster_id, None, match.score, False), vec
    return Decision(f"{LOCAL}{len(batch.new_clusters)}", None, match.score, True), vec


def place(s: Settings, it: Item, decision: Decision, vec: dict[int, float], batch: Batch) -> None:
    """Record a decision in the batch's working state, so later headlines of the batch see it."""
    snap, cid = batch.snap, decision.cluster_id
    batch.decisions[it.id] = decision
    if decision.new_cluster:
        batch.new_clusters[cid] = it
        snap.centroids[cid] = Centroid({}, 0, it.published)
    df_added = batch.df_added
    for t in it.terms:
        df_added[t] = df_added.get(t, 0) + 1
    exact = snap.exact.setdefault(it.bucket, {})
    if it.digest not in exact:
        exact[it.digest] = (it.id, it.published)
    snap.lsh.setdefault(it.bucket, {}).update(dict.fromkeys(it.bands, it.id))
    snap.signatures[it.id] = it.signature
    centroid = snap.centroids.get(cid)
    if centroid is None:
        return  # its story closed between the read and now: nothing left to update
    centroid.add(vec, it.published, s.centroid_terms, it.embedding)
    batch.touched.add(cid)
    _post(batch, it.bucket, cid, vec, s.term_postings)


def _post(batch: Batch, bucket: int, cid: str, vec: dict[int, float], cap: int) -> None:
    """Put the story first in the posting list of each of the headline's terms."""
    postings = batch.snap.postings.setdefault(bucket, {})
    posted = batch.posted.setdefault(bucket, set())
    for t in vec:
        current = postings.get(t)
        if not current:
            postings[t] = [cid]
            posted.add(t)
        elif current[0] != cid:
            postings[t] = [cid, *(c for c in current if c != cid)][:cap]
            posted.add(t)


def assign(s: Settings, items: list[Item], snap: Snapshot) -> Batch:
    batch = Batch(snap)
    for it in items:
        decision, vec = decide(s, it, batch)
        place(s, it, decision, vec, batch)
    return batch


def write_set(items: list[Item], batch: Batch, window_ttl: int) -> BatchWrite:
    """What the state layer must store for this batch."""
    snap = batch.snap
    placed = [Placed(it.id, batch.decisions[it.id].cluster_id, batch.decisions[it.id].duplicate_of, it.published)
              for it in items]
    buckets: dict[int, BucketWrites] = {}
    for it in items:
        writes = buckets.setdefault(it.bucket, BucketWrites())
        owner = snap.exact[it.bucket][it.digest]
        if owner[0] == it.id:  # only the first headline with the title is indexed
            writes.exact[it.digest] = owner
        writes.lsh.update(dict.fromkeys(it.bands, it.id))
        writes.signatures[it.id] = it.signature
    for b, writes in buckets.items():
        postings = snap.postings.get(b, {})
        writes.postings = {t: postings[t] for t in batch.posted.get(b, ())}
    return BatchWrite(
        placed=placed,
        new_stories={local: NewStory(it.title, it.published) for local, it in batch.new_clusters.items()},
        centroids={cid: snap.centroids[cid] for cid in batch.touched},
        buckets=buckets, df_added=batch.df_added, window_ttl=window_ttl,
    )
