"""One batch: normalise -> near-duplicates -> stories -> write. The only writer of assignments.

The expensive, private work (normalising, MinHash, vectorising) runs outside the lock, so several
workers overlap; reading the shared window state, assigning, and writing run under one short Redis lock,
so two workers can never open two stories for one event or lose each other's centroid updates.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import redis

from headline_dedup import rcall, turns
from headline_dedup.dedup import jaccard, pack_signature
from headline_dedup.engine import Engine
from headline_dedup.keys import MAX_LAG_WINDOWS, window_ttl
from headline_dedup.merge import merge_open_locked
from headline_dedup.normalize import normalize, words
from headline_dedup.rcall import hset_chunks, spread
from headline_dedup.store import statuses
from headline_dedup.stories import Centroid, best_story, pack_centroid, rank_candidates, tfidf
from headline_dedup.tokens import shingles
from headline_dedup.window import Item, Snapshot, fetch_candidates, fetch_centroids, fetch_indexes


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


def prepare(engine: Engine, rows: list[dict[str, str]]) -> list[Item]:
    """Normalise, sign and vectorise a batch: pure computation, no Redis."""
    texts = [normalize(r["title"], r.get("source") or None) for r in rows]
    tokens = [words(t) for t in texts]
    signatures = engine.signer.sign([shingles(ts) for ts in tokens])
    bands = engine.signer.band_fields(signatures)
    terms = engine.vectorizer.term_ids(texts)
    embeddings = engine.embedder.embed(texts) if engine.embedder else None
    items = []
    for i, row in enumerate(rows):
        published = float(row["published"])
        items.append(Item(
            id=row["id"], title=row["title"], source=row.get("source", ""), published=published,
            normalized=texts[i], digest=hashlib.blake2b(texts[i].encode(), digest_size=8).hexdigest(),
            bucket=engine.bucket(published), bands=bands[i] if tokens[i] else [],
            signature=signatures[i], terms=terms[i], embedding=_embedding(embeddings, i),
        ))
    return items


def _embedding(embeddings: np.ndarray | None, i: int) -> np.ndarray | None:
    # An all-zero row is a title with no known word piece: no embedding rather than one that matches nothing.
    if embeddings is None or not embeddings[i].any():
        return None
    return embeddings[i]


def _dup_candidates(items: list[Item], snap: Snapshot) -> dict[int, set[str]]:
    wanted: dict[int, set[str]] = {}
    for it in items:
        for b in (it.bucket, it.bucket - 1):
            hit = snap.exact.get(b, {}).get(it.digest)
            if hit:
                wanted.setdefault(b, set()).add(hit.split()[0])
            lsh = snap.lsh.get(b, {})
            wanted.setdefault(b, set()).update(lsh[f] for f in it.bands if f in lsh)
    return wanted


def _story_candidates(items: list[Item], snap: Snapshot) -> set[str]:
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


def read_state(r: redis.Redis, engine: Engine, items: list[Item]) -> Snapshot:
    snap = fetch_indexes(r, engine, items)
    fetch_candidates(r, engine, snap, _dup_candidates(items, snap))
    fetch_centroids(r, engine, snap, _story_candidates(items, snap))
    return snap


def _exact_duplicate(engine: Engine, it: Item, batch: Batch) -> str | None:
    window = engine.settings.window_seconds
    for b in (it.bucket, it.bucket - 1):
        hit = batch.snap.exact.get(b, {}).get(it.digest)
        if hit:
            hid, published = hit.split()
            if it.published - float(published) < window and _joinable(engine, hid, it, batch):
                return hid
    return None


def _near_duplicate(engine: Engine, it: Item, batch: Batch) -> tuple[str | None, float]:
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
            if sig is None or not _joinable(engine, hid, it, batch):
                continue
            score = jaccard(it.signature, sig)
            if score >= engine.settings.jaccard_threshold and score > best[1]:
                best = (hid, score)
    return best


def _joinable(engine: Engine, hid: str, it: Item, batch: Batch) -> bool:
    # A copy of an old headline is news again once its story has closed: it must not reopen the story.
    cid = _cluster_of(hid, batch)
    centroid = batch.snap.centroids.get(cid) if cid else None
    return centroid is not None and it.published - centroid.last_seen < engine.settings.window_seconds


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


def decide(engine: Engine, it: Item, batch: Batch) -> tuple[Decision, dict[int, float]]:
    """Where one headline goes, given the batch's view of the window. Changes nothing."""
    s = engine.settings
    snap = batch.snap
    df = {t: snap.df.get(t, 0) + batch.df_added.get(t, 0) for t in it.terms}
    vec = tfidf(it.terms, df, snap.n_docs + len(batch.decisions))
    dup = _exact_duplicate(engine, it, batch)
    if dup:
        return Decision(_cluster_of(dup, batch) or "", _original(dup, batch), 1.0, False), vec
    near, similarity = _near_duplicate(engine, it, batch)
    if near:
        return Decision(_cluster_of(near, batch) or "", _original(near, batch), similarity, False), vec
    candidates = rank_candidates(vec, _postings_for(snap, it), s.max_candidates)
    match = best_story(vec, it.published, candidates, snap.centroids, s.window_seconds, s.time_penalty,
                       s.small_story_penalty, it.embedding, s.embedding_weight, s.embedding_baseline)
    if match.cluster_id and match.score >= s.cosine_threshold:
        return Decision(match.cluster_id, None, match.score, False), vec
    return Decision(f"new:{len(batch.new_clusters)}", None, match.score, True), vec


def place(engine: Engine, it: Item, decision: Decision, vec: dict[int, float], batch: Batch) -> None:
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
        exact[it.digest] = f"{it.id} {it.published!r}"
    snap.lsh.setdefault(it.bucket, {}).update(dict.fromkeys(it.bands, it.id))
    snap.signatures[it.id] = it.signature
    centroid = snap.centroids.get(cid)
    if centroid is None:
        return  # its story closed between the read and now: nothing left to update
    centroid.add(vec, it.published, engine.settings.centroid_terms, it.embedding)
    batch.touched.add(cid)
    _post(batch, it.bucket, cid, vec, engine.settings.term_postings)


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


def assign(engine: Engine, items: list[Item], snap: Snapshot) -> Batch:
    batch = Batch(snap)
    for it in items:
        decision, vec = decide(engine, it, batch)
        place(engine, it, decision, vec, batch)
    return batch


def _real_ids(r: redis.Redis, engine: Engine, batch: Batch) -> dict[str, str]:
    count = len(batch.new_clusters)
    if not count:
        return {}
    last = int(r.incrby(engine.keys.cluster_seq, count))
    return {local: str(last - count + 1 + i) for i, local in enumerate(batch.new_clusters)}


def write(r: redis.Redis, engine: Engine, items: list[Item], batch: Batch) -> None:
    """Everything the batch decided, in one atomic script."""
    keys, s = engine.keys, engine.settings
    real = _real_ids(r, engine, batch)

    def cid_of(c: str) -> str:
        return real.get(c, c)

    ttl = window_ttl(s.window_seconds)
    commands: list[list[Any]] = []
    last_seen: dict[str, float] = {}
    members: dict[str, list[str]] = {}
    duplicates = 0
    for it in items:
        d = batch.decisions[it.id]
        cid = cid_of(d.cluster_id)
        command: list[Any] = ["HSET", keys.headline(it.id), "st", "d", "c", cid]
        if d.duplicate_of:
            command += ["d", d.duplicate_of]
            duplicates += 1
        commands.append(command)
        members.setdefault(cid, []).append(it.id)
        last_seen[cid] = max(last_seen.get(cid, it.published), it.published)
    for local, it in batch.new_clusters.items():
        commands.append(["HSET", keys.cluster(cid_of(local)), "title", it.title, "first_seen", repr(it.published)])
    for cid, ids in members.items():
        commands += spread("RPUSH", keys.members(cid), ids)
        commands.append(["HINCRBY", keys.cluster(cid), "size", len(ids)])
    commands += spread("ZADD", keys.clusters, _score_pairs(last_seen), step=2, prefix=("GT",))
    opened: dict[str, float] = {}
    for local in batch.touched:
        cid, centroid = cid_of(local), batch.snap.centroids[local]
        commands.append(["SET", keys.centroid(cid), pack_centroid(centroid), "EX", ttl])
        opened[cid] = centroid.last_seen
    commands += spread("ZADD", keys.open_clusters, _score_pairs(opened), step=2, prefix=("GT",))
    commands += _index_writes(engine, items, batch, cid_of)
    commands += spread("ZREM", keys.queued, [it.id for it in items])
    commands += spread("ZREM", keys.unplaced, [it.id for it in items])
    commands += [["HINCRBY", keys.stats, "done", len(items)], ["HINCRBY", keys.stats, "duplicates", duplicates]]
    rcall.run(r, commands)


def _score_pairs(scores: dict[str, float]) -> list[Any]:
    return [x for cid, score in scores.items() for x in (repr(score), cid)]


def _index_writes(engine: Engine, items: list[Item], batch: Batch, cid_of: Callable[[str], str]) -> list[list[Any]]:
    keys, snap = engine.keys, batch.snap
    ttl = window_ttl(engine.settings.window_seconds)
    by_bucket: dict[int, list[Item]] = {}
    for it in items:
        by_bucket.setdefault(it.bucket, []).append(it)
    commands: list[list[Any]] = []
    for b, its in by_bucket.items():
        exact = {it.digest: snap.exact[b][it.digest] for it in its if snap.exact[b][it.digest].startswith(f"{it.id} ")}
        commands += hset_chunks(keys.exact(b), exact)
        commands += hset_chunks(keys.lsh(b), {band: it.id for it in its for band in it.bands})
        commands += hset_chunks(keys.signatures(b), {it.id: pack_signature(it.signature) for it in its})
        posted = batch.posted.get(b, set())
        if posted:
            postings = snap.postings[b]
            commands += hset_chunks(keys.terms(b), {t: " ".join(cid_of(c) for c in postings[t]) for t in posted})
        commands += [["EXPIRE", key, ttl] for key in keys.bucket_keys(b)]
        commands.append(["ZADD", keys.buckets, b, str(b)])
    if batch.df_added:
        # HINCRBY per term would be one command each; a script line adds them all in one.
        commands += spread("HINCRBYMANY", keys.df, [x for kv in batch.df_added.items() for x in kv], step=2)
        commands.append(["INCRBY", keys.df_total, len(items)])
    return commands


def close_old(r: redis.Redis, engine: Engine, now: float) -> None:
    """Drop the centroids of stories that closed and the buckets that left the window (event time).

    `now` is the newest published_at placed, held back to the oldest headline not yet placed: with
    several workers a batch of yesterday's news can run after one of today's, and must still find
    yesterday's stories.
    """
    keys = engine.keys
    oldest = r.zrange(keys.unplaced, 0, 0, withscores=True)
    if oldest:
        floor = now - MAX_LAG_WINDOWS * engine.settings.window_seconds
        now = min(now, max(floor, float(oldest[0][1])))
    cutoff = now - engine.settings.window_seconds
    closed, old = rcall.run(r, [
        ["ZRANGEBYSCORE", keys.open_clusters, "-inf", repr(cutoff), "LIMIT", 0, 5000],
        ["ZRANGEBYSCORE", keys.buckets, "-inf", f"({engine.bucket(now) - 1}"],
    ])
    closed_ids = [c.decode() for c in closed]
    commands = [["DEL", *[keys.centroid(c) for c in closed_ids[i : i + 1000]]] for i in range(0, len(closed_ids), 1000)]
    commands += spread("ZREM", keys.open_clusters, closed_ids)
    commands += [["DEL", *keys.bucket_keys(int(b))] for b in old]
    commands += spread("ZREM", keys.buckets, [b.decode() for b in old])
    rcall.run(r, commands)


def load(r: redis.Redis, engine: Engine, ids: list[str]) -> list[dict[str, str]]:
    """The headlines of a job that still need placing (a retried job skips what it already did)."""
    replies = rcall.run(r, [["HMGET", engine.keys.headline(hid), "t", "s", "p", "st"] for hid in ids])
    rows = []
    seen: set[str] = set()
    for hid, (title, source, published, status) in zip(ids, replies, strict=True):
        if not title or status == b"d" or hid in seen:
            continue
        seen.add(hid)
        rows.append({"id": hid, "title": title.decode(), "source": (source or b"").decode(),
                     "published": published.decode()})
    return rows


def process_batch(r: redis.Redis, engine: Engine, ids: list[str]) -> int:
    """Place every headline of the batch in a story; returns how many were placed."""
    rows = load(r, engine, ids)
    if not rows:
        turns.leave(r, engine, ids[0])
        return 0
    items = prepare(engine, rows)
    turns.wait(r, engine, ids[0])
    with engine.lock(r):
        # Re-read under the lock: another worker may have placed some of these since (a retried job).
        done = _already_done(r, engine, items)
        items = [it for it in items if it.id not in done]
        if not items:
            turns.leave(r, engine, ids[0])
            return 0
        snap = read_state(r, engine, items)
        batch = assign(engine, items, snap)
        write(r, engine, items, batch)
        turns.leave(r, engine, ids[0])  # placed: the next batch may go once the lock is free
        newest = max(it.published for it in items)
        close_old(r, engine, newest)
        merge_open_locked(r, engine, around=newest)
    return len(items)


def _already_done(r: redis.Redis, engine: Engine, items: list[Item]) -> set[str]:
    found = statuses(r, engine, [it.id for it in items])
    return {it.id for it, st in zip(items, found, strict=True) if st == b"d"}


@dataclass
class LookupResult:
    cluster_id: str | None
    score: float
    duplicate_of: str | None


def lookup(r: redis.Redis, engine: Engine, title: str, published: float | None = None) -> LookupResult:
    """Which story a title would join now. Reads only; stores nothing."""
    row = {"id": "\x00lookup", "title": title, "source": "", "published": repr(published or time.time())}
    items = prepare(engine, [row])
    snap = read_state(r, engine, items)
    decision, _ = decide(engine, items[0], Batch(snap))
    if decision.new_cluster:
        return LookupResult(None, round(decision.score, 4), None)
    return LookupResult(decision.cluster_id, round(decision.score, 4), decision.duplicate_of)

