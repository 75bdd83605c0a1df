"""Window state read for a batch: what Redis knew, when the batch started, about all it may touch.

Reads come in three round trips (indexes; candidate headlines; centroids) however large the batch, each
one script call (state.commands), with every reply found by its handle.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import redis

from headline_dedup.state import records
from headline_dedup.state.commands import Commands
from headline_dedup.state.keys import Keys

if TYPE_CHECKING:
    import numpy as np

    from headline_dedup.stories import Centroid


@dataclass
class Snapshot:
    """The window state around a batch, as placement sees it (and updates its own copy of)."""

    exact: dict[int, dict[str, tuple[str, float]]] = field(default_factory=dict)  # bucket -> digest -> (id, published)
    lsh: dict[int, dict[str, str]] = field(default_factory=dict)  # bucket -> band -> headline id
    postings: dict[int, dict[int, list[str]]] = field(default_factory=dict)  # bucket -> term -> cluster ids
    df: dict[int, int] = field(default_factory=dict)
    n_docs: int = 0
    signatures: dict[str, np.ndarray] = field(default_factory=dict)  # headline id -> signature
    cluster_of: dict[str, str] = field(default_factory=dict)  # headline id -> cluster id
    original_of: dict[str, str] = field(default_factory=dict)  # headline id -> its duplicate_of, if any
    centroids: dict[str, Centroid] = field(default_factory=dict)


def read_indexes(r: redis.Redis, keys: Keys, buckets: list[int], digests: list[str], bands: list[str],
                 terms: list[int]) -> Snapshot:
    """Round trip 1: exact-title and LSH indexes and the inverted index of each bucket, document frequencies."""
    commands = Commands()
    per_bucket = [(b, commands.hmget(keys.exact(b), digests), commands.hmget(keys.lsh(b), bands),
                   commands.hmget(keys.terms(b), terms)) for b in buckets]
    df = commands.hmget(keys.df, terms)
    total = commands.call("GET", keys.df_total)
    replies = commands.run(r)
    snap = Snapshot()
    for b, exact, lsh, posting in per_bucket:
        snap.exact[b] = {d: records.decode_exact(v.decode()) for d, v in zip(digests, replies[exact], strict=True)
                         if v}
        snap.lsh[b] = {f: v.decode() for f, v in zip(bands, replies[lsh], strict=True) if v}
        snap.postings[b] = {t: records.decode_postings(v) for t, v in zip(terms, replies[posting], strict=True) if v}
    snap.df = {t: int(v) for t, v in zip(terms, replies[df], strict=True) if v}
    snap.n_docs = int(replies[total] or 0)
    return snap


def read_candidates(r: redis.Redis, keys: Keys, snap: Snapshot, wanted: dict[int, set[str]]) -> None:
    """Round trip 2: signatures (bucket -> ids) and stories of candidate duplicate headlines."""
    all_ids = sorted({i for ids in wanted.values() for i in ids})
    if not all_ids:
        return
    commands = Commands()
    signatures = [(ids, commands.hmget(keys.signatures(b), ids))
                  for b, ids in ((b, sorted(ids)) for b, ids in wanted.items() if ids)]
    fields = [records.Headline.CLUSTER, records.Headline.DUPLICATE_OF]
    clusters = commands.each("HMGET", [(keys.headline(hid), fields) for hid in all_ids])
    replies = commands.run(r)
    for ids, handle in signatures:
        for hid, raw in zip(ids, replies[handle], strict=True):
            if raw:
                snap.signatures[hid] = records.decode_signature(raw)
    for hid, (cid, original) in zip(all_ids, replies[clusters], strict=True):
        if cid:
            snap.cluster_of[hid] = cid.decode()
        if original:
            snap.original_of[hid] = original.decode()


def read_centroids(r: redis.Redis, keys: Keys, snap: Snapshot, cluster_ids: Iterable[str]) -> None:
    """Round trip 3: centroids of the stories the batch may join."""
    snap.centroids.update(centroids(r, keys, sorted(set(cluster_ids) - snap.centroids.keys())))


def centroids(r: redis.Redis, keys: Keys, cluster_ids: list[str]) -> dict[str, Centroid]:
    """The centroids of those stories that still have one (open stories)."""
    return {cid: records.decode_centroid(raw) for cid, raw in packed_centroids(r, keys, cluster_ids).items()}


def packed_centroids(r: redis.Redis, keys: Keys, cluster_ids: list[str]) -> dict[str, bytes]:
    if not cluster_ids:
        return {}
    # One MGET, not the generic script: the merge pass reads every open story's centroid after each batch,
    # and packing thousands of blobs through Lua's cmsgpack cost a fifth of a worker's time.
    raws = r.mget([keys.centroid(cid) for cid in cluster_ids])
    return {cid: bytes(raw) for cid, raw in zip(cluster_ids, raws, strict=True) if raw is not None}


def read_postings(r: redis.Redis, keys: Keys, terms: dict[int, set[int]]) -> dict[int, dict[int, list[str]]]:
    """Bucket -> term -> posting list, for the terms asked of each bucket (those with one only)."""
    commands = Commands()
    asked = [(b, sorted(ts)) for b, ts in sorted(terms.items())]
    handles = [(b, ts, commands.hmget(keys.terms(b), ts)) for b, ts in asked]
    replies = commands.run(r)
    out: dict[int, dict[int, list[str]]] = {}
    for b, ts, handle in handles:
        found = {t: records.decode_postings(v) for t, v in zip(ts, replies[handle], strict=True) if v}
        if found:
            out[b] = found
    return out
