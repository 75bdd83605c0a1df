"""Window state in Redis, read for a batch and written back in one transaction.

Reads come in three round trips (service.rcall) (indexes; candidate headlines; centroids) however large the
batch; the write is one atomic script, so a worker that dies mid-batch leaves the old state or the new.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import redis

from headline_dedup import rcall
from headline_dedup.dedup import unpack_signature
from headline_dedup.engine import Engine
from headline_dedup.rcall import hmget_chunks, joined
from headline_dedup.stories import Centroid, unpack_centroid


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
class Snapshot:
    """What Redis knew, when the batch started, about everything the batch may touch."""

    exact: dict[int, dict[str, str]] = field(default_factory=dict)  # bucket -> digest -> "id published"
    lsh: dict[int, dict[str, str]] = field(default_factory=dict)  # bucket -> band -> headline id
    postings: dict[int, dict[int, list[str]]] = field(default_factory=dict)  # bucket -> term -> cluster ids
    df: dict[int, int] = field(default_factory=dict)
    n_docs: int = 0
    signatures: dict[str, np.ndarray] = field(default_factory=dict)  # headline id -> signature
    cluster_of: dict[str, str] = field(default_factory=dict)  # headline id -> cluster id
    original_of: dict[str, str] = field(default_factory=dict)  # headline id -> its duplicate_of, if any
    centroids: dict[str, Centroid] = field(default_factory=dict)


def relevant_buckets(items: Iterable[Item]) -> list[int]:
    return sorted({b for it in items for b in (it.bucket, it.bucket - 1)})


def fetch_indexes(r: redis.Redis, engine: Engine, items: list[Item]) -> Snapshot:
    """Round trip 1: exact-title and LSH indexes, the inverted index, document frequencies."""
    keys = engine.keys
    buckets = relevant_buckets(items)
    digests = sorted({it.digest for it in items})
    bands = sorted({band for it in items for band in it.bands})
    terms = sorted({t for it in items for t in it.terms})
    groups: list[list[list[Any]]] = []
    for b in buckets:
        groups += [hmget_chunks(keys.exact(b), digests), hmget_chunks(keys.lsh(b), bands),
                   hmget_chunks(keys.terms(b), terms)]
    groups += [hmget_chunks(keys.df, terms), [["GET", keys.df_total]]]
    out = _grouped(rcall.run(r, [c for g in groups for c in g]), groups)
    snap = Snapshot()
    for i, b in enumerate(buckets):
        exact, lsh, posting = out[3 * i : 3 * i + 3]
        snap.exact[b] = {d: v.decode() for d, v in zip(digests, exact, strict=False) if v}
        snap.lsh[b] = {f: v.decode() for f, v in zip(bands, lsh, strict=False) if v}
        snap.postings[b] = {t: v.decode().split() for t, v in zip(terms, posting, strict=False) if v}
    snap.df = {t: int(v) for t, v in zip(terms, out[-2], strict=False) if v}
    snap.n_docs = int(out[-1][0] or 0)
    return snap


def _grouped(replies: list[Any], groups: list[list[list[Any]]]) -> list[list[Any]]:
    """Replies of chunked commands, joined back into one list per group."""
    out, at = [], 0
    for group in groups:
        if len(group) == 1 and group[0][0] == "GET":
            out.append([replies[at]])
        else:
            out.append(joined(replies, at, len(group)))
        at += len(group)
    return out


def fetch_candidates(r: redis.Redis, engine: Engine, snap: Snapshot, wanted: dict[int, set[str]]) -> None:
    """Round trip 2: signatures and clusters of candidate duplicate headlines (bucket -> ids)."""
    keys = engine.keys
    order = [(b, sorted(ids)) for b, ids in wanted.items() if ids]
    all_ids = sorted({i for ids in wanted.values() for i in ids})
    if not all_ids:
        return
    groups = [hmget_chunks(keys.signatures(b), id_list) for b, id_list in order]
    groups += [[["HMGET", keys.headline(hid), "c", "d"]] for hid in all_ids]
    replies = rcall.run(r, [c for g in groups for c in g])
    at = 0
    for (_, id_list), group in zip(order, groups, strict=False):
        for hid, raw in zip(id_list, joined(replies, at, len(group)), strict=True):
            if raw:
                snap.signatures[hid] = unpack_signature(raw)
        at += len(group)
    for hid, (cid, original) in zip(all_ids, replies[at:], strict=True):
        if cid:
            snap.cluster_of[hid] = cid.decode()
        if original:
            snap.original_of[hid] = original.decode()


def fetch_centroids(r: redis.Redis, engine: Engine, snap: Snapshot, cluster_ids: Iterable[str]) -> None:
    """Round trip 3: centroids of the stories the batch may join."""
    wanted = sorted(set(cluster_ids) - snap.centroids.keys())
    if not wanted:
        return
    raws = r.mget([engine.keys.centroid(c) for c in wanted])
    for cid, raw in zip(wanted, raws, strict=True):
        if raw is not None:
            snap.centroids[cid] = unpack_centroid(raw)
