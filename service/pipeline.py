"""One batch: load -> prepare -> turn -> lock -> read -> place -> write -> close -> merge.

The expensive, private work (normalising, MinHash, vectorising) runs outside the lock, so several
workers overlap; reading the shared window state, assigning, and writing run under one short Redis lock,
so two workers can never open two stories for one event or lose each other's centroid updates. Deciding
is pure (service.placement); reading and writing Redis is the state layer's (service.state).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import numpy as np
import redis

from headline_dedup import turns
from headline_dedup.engine import Engine
from headline_dedup.eventtime import behind
from headline_dedup.merge import merge_open_locked
from headline_dedup.normalize import content_of, normalize, words
from headline_dedup.placement import (
    Batch,
    Item,
    assign,
    decide,
    dup_candidates,
    relevant_buckets,
    story_candidates,
    write_set,
)
from headline_dedup.state import headlines, metrics, outbox, window
from headline_dedup.state.keys import MAX_LAG_WINDOWS, window_ttl
from headline_dedup.state.records import Status
from headline_dedup.state.snapshot import Snapshot, read_candidates, read_centroids, read_indexes
from headline_dedup.state.writer import BatchWrite, write_batch


def prepare(engine: Engine, rows: list[headlines.Row]) -> list[Item]:
    """Normalise, sign and vectorise a batch: pure computation, no Redis."""
    texts = [normalize(row.title, row.source or None) for row in rows]
    tokens = [words(t) for t in texts]
    signatures = engine.signer.sign(tokens, pairs=True)  # word pairs: word order counts
    bands = engine.signer.band_fields(signatures)
    content = [content_of(ts) for ts in tokens]  # cut once, for both the terms and the embedding
    terms = engine.vectorizer.term_ids_of(content)
    embeddings = engine.embedder.embed_words(content) if engine.embedder else None
    items = []
    for i, row in enumerate(rows):
        published = row.published
        items.append(Item(
            id=row.id, title=row.title, source=row.source, published=published,
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


def read_state(r: redis.Redis, engine: Engine, items: list[Item], partition: str = "") -> Snapshot:
    keys = engine.keys.part(partition)
    bands = sorted({band for it in items for band in it.bands})
    terms = sorted({t for it in items for t in it.terms})
    snap = read_indexes(r, keys, relevant_buckets(items), sorted({it.digest for it in items}), bands, terms)
    read_candidates(r, keys, snap, dup_candidates(items, snap))
    read_centroids(r, keys, snap, story_candidates(items, snap))
    return snap


def close_old(r: redis.Redis, engine: Engine, published: list[float], partition: str = "") -> None:
    """Drop the centroids of stories that closed and the buckets that left the window (event time).

    Closing follows the watermark, as in Flink or Beam: the newest published_at placed (this batch's
    `published` included) less `allowed_lateness_seconds`, windows without news not counted
    (service.eventtime), so a headline arriving up to that late still finds every story and original
    that was open at its own time. It is held back further to the oldest
    headline not yet placed: with several workers a batch of yesterday's news can run after one of
    today's, and must still find yesterday's stories.
    """
    keys, s = engine.keys.part(partition), engine.settings
    found = window.advance(r, keys, published, s.allowed_lateness_seconds, s.window_seconds)
    mark, cutoff = found.mark, found.mark.close_through
    if found.oldest_unplaced is not None:
        held = max(mark.mark - MAX_LAG_WINDOWS * s.window_seconds, found.oldest_unplaced)
        if held < mark.mark:
            cutoff = min(cutoff, behind(held, s.window_seconds, s.window_seconds, found.occupied))
    window.close(r, keys, cutoff, engine.bucket(cutoff), found.writes)


def load(r: redis.Redis, engine: Engine, ids: list[str]) -> list[headlines.Row]:
    """The headlines of a job that still need placing (a retried job skips what it already did)."""
    rows = []
    seen: set[str] = set()
    for row in headlines.rows(r, engine.keys, ids, accepted=True):
        if row is None or row.status is Status.DONE or row.id in seen:
            continue
        seen.add(row.id)
        rows.append(row)
    return rows


def process_batch(r: redis.Redis, engine: Engine, ids: list[str], partition: str = "") -> int:
    """Place every headline of the batch (all of one partition) in a story; returns how many were placed."""
    started = time.monotonic()
    rows = load(r, engine, ids)
    if not rows:
        turns.leave(r, engine, ids[0], partition)
        return 0
    items = prepare(engine, rows)
    prepared = time.monotonic()
    turns.wait(r, engine, ids[0], partition=partition)
    with engine.lock(r, partition):
        figures = metrics.BatchFigures(lock_wait_seconds=time.monotonic() - prepared)
        # What a placement of this partition that died left in its outbox comes first (cluster only): the
        # re-read below then sees those headlines done.
        outbox.finish(r, engine.keys.part(partition))
        # Re-read under the lock: another worker may have placed some of these since (a retried job).
        done = headlines.placed_among(r, engine.keys.part(partition), [it.id for it in items])
        items = [it for it in items if it.id not in done]
        if not items:
            turns.leave(r, engine, ids[0], partition)
            return 0
        snap = read_state(r, engine, items, partition)
        batch = assign(engine.settings, items, snap)
        ws = write_set(items, batch, window_ttl(engine.settings.window_seconds))
        # Placed, and out of the line in the same write: the next batch may go once the lock is free.
        write_batch(r, engine.keys.part(partition), ws, turn=ids[0])
        _outcomes(figures, ws, {row.id: row.accepted for row in rows}, time.time())
        newest = max(it.published for it in items)
        close_old(r, engine, [it.published for it in items], partition)
        merge_open_locked(r, engine, around=newest, partition=partition)
    # Outside the lock: the next batch need not wait for our bookkeeping.
    figures.batch_seconds = time.monotonic() - started
    metrics.record_batch(r, engine.keys, figures)
    return len(items)


def _outcomes(figures: metrics.BatchFigures, ws: BatchWrite, accepted: dict[str, float | None],
              placed_at: float) -> None:
    """Each placed headline's kind and its time from accepted to placed."""
    duplicates = sum(1 for p in ws.placed if p.duplicate_of)
    # Each new story has exactly one first headline; every other one joined a story or duplicates one.
    figures.placed.update(new=len(ws.new_stories), duplicate=duplicates,
                          joined=len(ws.placed) - len(ws.new_stories) - duplicates)
    figures.latencies = [placed_at - at for p in ws.placed if (at := accepted.get(p.id)) is not None]


@dataclass
class LookupResult:
    cluster_id: str | None
    score: float
    duplicate_of: str | None


def lookup(r: redis.Redis, engine: Engine, title: str, published: float | None = None,
           partition: str = "") -> LookupResult:
    """Which story of the partition a title would join now. Reads only; stores nothing."""
    items = prepare(engine, [headlines.Row("\x00lookup", title, "", published or time.time(), None)])
    snap = read_state(r, engine, items, partition)
    decision, _ = decide(engine.settings, items[0], Batch(snap))
    if decision.new_cluster:
        return LookupResult(None, round(decision.score, 4), None)
    return LookupResult(decision.cluster_id, round(decision.score, 4), decision.duplicate_of)

