"""Window state in Redis, read for a batch and written back in one transaction.

Reads come in three pipelined round trips (indexes; candidate headlines; centroids) however large the
batch; the write is one MULTI/EXEC, so a worker that dies mid-batch leaves the old state or the new.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import redis

from service.dedup import unpack_signature
from service.engine import Engine
from service.stories import Centroid, unpack_centroid


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


@dataclass
class Snapshot:
    """What Redis knew, when the batch started, about everything the batch may touch."""

    exact: dict[int, dict[str, str]] = field(default_factory=dict)  # bucket -> digest -> "id published"
    lsh: dict[int, dict[str, str]] = field(default_factory=dict)  # bucket -> band -> headline id
    postings: dict[int, dict[int, list[str]]] = field(default_factory=dict)  # bucket -> term -> cluster ids
    df: dict[int, int] = field(default_factory=dict)
    n_docs: int = 0
    signatures: dict[str, np.ndarray] = field(default_factory=dict)  # headline id -> signature
    cluster_of: dict[str, str] = field(default_factory=dict)  # headline id -> cluster id
    centroids: dict[str, Centroid] = field(default_factory=dict)


def _decode(value: bytes | None) -> str | None:
    return value.decode() if value is not None else None


def relevant_buckets(items: Iterable[Item]) -> list[int]:
    return sorted({b for it in items for b in (it.bucket, it.bucket - 1)})


def fetch_indexes(r: redis.Redis, engine: Engine, items: list[Item]) -> Snapshot:
    """Round trip 1: exact-title and LSH indexes, the inverted index, document frequencies."""
    keys = engine.keys
    buckets = relevant_buckets(items)
    digests = sorted({it.digest for it in items})
    bands = sorted({band for it in items for band in it.bands})
    terms = sorted({t for it in items for t in it.terms})
    pipe = r.pipeline(transaction=False)
    for b in buckets:
        pipe.hmget(keys.exact(b), digests)
        pipe.hmget(keys.lsh(b), bands) if bands else pipe.echo("")
        pipe.hmget(keys.terms(b), terms) if terms else pipe.echo("")
    pipe.hmget(keys.df, terms) if terms else pipe.echo("")
    pipe.get(keys.df_total)
    out = pipe.execute()
    snap = Snapshot()
    for i, b in enumerate(buckets):
        exact, lsh, posting = out[3 * i : 3 * i + 3]
        snap.exact[b] = {d: v.decode() for d, v in zip(digests, exact, strict=True) if v is not None}
        snap.lsh[b] = {f: v.decode() for f, v in zip(bands, lsh, strict=True) if v is not None}
        snap.postings[b] = (
            {t: v.decode().split() for t, v in zip(terms, posting, strict=True) if v} if terms else {}
        )
    if terms:
        snap.df = {t: int(v) for t, v in zip(terms, out[-2], strict=True) if v is not None}
    snap.n_docs = int(out[-1] or 0)
    return snap


def fetch_candidates(r: redis.Redis, engine: Engine, snap: Snapshot, wanted: dict[int, set[str]]) -> None:
    """Round trip 2: signatures and clusters of candidate duplicate headlines (bucket -> ids)."""
    keys = engine.keys
    pipe = r.pipeline(transaction=False)
    order: list[tuple[int, list[str]]] = []
    for b, ids in wanted.items():
        if ids:
            id_list = sorted(ids)
            order.append((b, id_list))
            pipe.hmget(keys.signatures(b), id_list)
    all_ids = sorted({i for ids in wanted.values() for i in ids})
    for hid in all_ids:
        pipe.hget(keys.headline(hid), "c")
    out = pipe.execute()
    for (_, id_list), sigs in zip(order, out, strict=False):
        for hid, raw in zip(id_list, sigs, strict=True):
            if raw is not None:
                snap.signatures[hid] = unpack_signature(raw)
    for hid, cid in zip(all_ids, out[len(order) :], strict=True):
        if cid is not None:
            snap.cluster_of[hid] = cid.decode()


def fetch_centroids(r: redis.Redis, engine: Engine, snap: Snapshot, cluster_ids: Iterable[str]) -> None:
    """Round trip 3: centroids of the stories the batch may join."""
    wanted = sorted(set(cluster_ids) - snap.centroids.keys())
    if not wanted:
        return
    raws = r.mget([engine.keys.centroid(c) for c in wanted])
    for cid, raw in zip(wanted, raws, strict=True):
        if raw is not None:
            snap.centroids[cid] = unpack_centroid(raw)
