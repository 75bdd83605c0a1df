"""Merging open stories whose centroids have grown alike.

Single-pass assignment is order-dependent: the first headlines of a story can open two or three stories
before either centroid is strong enough to attract the rest. A pass over the open stories after each
batch joins any two whose score (centroids' cosine, plus the embedding blend when it is on) reaches
merge_threshold (greedy centroid linkage, the most similar pair first), which repairs those splits while
the story is still open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import redis

from headline_dedup.engine import Engine
from headline_dedup.normalize import normalize
from headline_dedup.state import headlines, snapshot, stories, window
from headline_dedup.state.commands import Commands, Replies
from headline_dedup.state.keys import window_ttl
from headline_dedup.state.outbox import Remote
from headline_dedup.state.writer import MergeWrite, write_merges
from headline_dedup.stories import Centroid, centroid_arrays, unpack_centroid

if TYPE_CHECKING:
    from scipy import sparse


@dataclass
class Plan:
    """The merges of one pass: every source story and the live story it ends up in."""

    root: dict[str, str] = field(default_factory=dict)  # source -> surviving story
    centroids: dict[str, Centroid] = field(default_factory=dict)  # surviving story -> merged centroid


def candidates(packed: dict[str, bytes], threshold: float, emb_weight: float = 0.0,
               emb_baseline: float = 0.0) -> dict[str, Centroid]:
    """The open stories with at least one partner at or above threshold, unpacked.

    One sparse product over all open stories, straight from the packed bytes, so the common case (few
    or no merges) costs no per-term Python work. With emb_weight, a pair that shares a term scores
    cosine + emb_weight * (embedding cosine - emb_baseline).
    """
    ids = list(packed)
    if len(ids) < 2:
        return {}
    from scipy import sparse  # on use: admin commands import this module, and scipy takes a while to load

    terms, weights, embs = zip(*(centroid_arrays(packed[c]) for c in ids), strict=True)
    lengths = np.array([len(t) for t in terms])
    _, cols = np.unique(np.concatenate(terms), return_inverse=True)
    data = np.concatenate(weights).astype(np.float64)
    row_of = np.repeat(np.arange(len(ids)), lengths)
    norms = np.sqrt(np.bincount(row_of, weights=data * data, minlength=len(ids)))
    data /= np.where(norms > 0, norms, 1.0)[row_of]
    x = sparse.csr_matrix((data, cols, np.concatenate([[0], np.cumsum(lengths)])))
    sim = (x @ x.T).tocoo()
    score = sim.data
    if emb_weight:
        units = _units(list(embs))
        score = score + emb_weight * (np.einsum("ij,ij->i", units[sim.row], units[sim.col]) - emb_baseline)
    close = (score >= threshold) & (sim.row != sim.col)
    keep = np.unique(np.concatenate([sim.row[close], sim.col[close]]))
    return {ids[i]: unpack_centroid(packed[ids[i]]) for i in keep.tolist()}


def _units(embs: list[np.ndarray | None], dims: int | None = None) -> np.ndarray:
    """Unit rows of embedding sums; a story without one (or of another size) gets a zero row, which
    scores an embedding cosine of 0."""
    if dims is None:
        dims = max((len(e) for e in embs if e is not None), default=0)
    out = np.zeros((len(embs), dims))
    for k, e in enumerate(embs):
        if e is not None and len(e) == dims:
            out[k] = e
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norms, out=out, where=norms > 0)


def _unit(c: Centroid, vocab: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    cols = np.fromiter((vocab[t] for t in c.weights), dtype=np.int64, count=len(c.weights))
    ws = np.fromiter(c.weights.values(), dtype=np.float64, count=len(c.weights))
    norm = float(np.sqrt(ws @ ws)) or 1.0
    return cols, ws / norm


def _matrix(cents: list[Centroid], vocab: dict[int, int]) -> sparse.csr_matrix:
    from scipy import sparse

    parts = [_unit(c, vocab) for c in cents]
    indptr = np.cumsum([0] + [len(cols) for cols, _ in parts])
    return sparse.csr_matrix(
        (np.concatenate([w for _, w in parts]), np.concatenate([c for c, _ in parts]), indptr),
        shape=(len(cents), len(vocab)),
    )


def plan(centroids: dict[str, Centroid], threshold: float, keep: int, emb_weight: float = 0.0,
         emb_baseline: float = 0.0) -> Plan:
    """Greedy centroid linkage: merge the most similar pair while its score reaches threshold (cosine,
    plus emb_weight * (embedding cosine - emb_baseline) when emb_weight is set)."""
    out = Plan()
    ids = list(centroids)
    if len(ids) < 2:
        return out
    cents = [centroids[c] for c in ids]
    # Column per term seen in this pass (a merged centroid only holds terms of its parts).
    vocab = {t: n for n, t in enumerate({t for c in cents for t in c.weights})}
    x = _matrix(cents, vocab)
    sim = (x @ x.T).toarray()
    units = _units([c.embedding for c in cents]) if emb_weight else None
    if units is not None:
        sim += emb_weight * (units @ units.T - emb_baseline)
    np.fill_diagonal(sim, -1.0)
    grown: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # unit vectors of stories whose row of x is stale
    dead = np.zeros(len(ids), dtype=bool)  # merged away
    while True:
        i, j = (int(n) for n in np.unravel_index(int(np.argmax(sim)), sim.shape))
        if sim[i, j] < threshold:
            return out
        if (cents[j].size, -_age(ids[j])) > (cents[i].size, -_age(ids[i])):
            i, j = j, i  # the bigger (then older) story survives, so its id stays stable
        cents[i].absorb(cents[j], keep)
        out.root[ids[j]] = ids[i]
        out.centroids[ids[i]] = cents[i]
        out.centroids.pop(ids[j], None)
        grown.pop(j, None)
        grown[i] = _unit(cents[i], vocab)
        dead[j] = True
        sim[j, :] = sim[:, j] = -1.0
        out_of_play = dead.copy()
        out_of_play[i] = True
        row = _similarities(x, grown, len(vocab), i, out_of_play)
        if units is not None:
            units[i] = _units([cents[i].embedding], units.shape[1])[0]
            row = np.where(out_of_play, -1.0, row + emb_weight * (units @ units[i] - emb_baseline))
        sim[i, :] = sim[:, i] = row


def _similarities(x: sparse.csr_matrix, grown: dict[int, tuple[np.ndarray, np.ndarray]], n_terms: int, i: int,
                  dead: np.ndarray) -> np.ndarray:
    """Cosine of story i's new centroid with every story."""
    cols, ws = grown[i]
    dense = np.zeros(n_terms)
    dense[cols] = ws
    row = x @ dense
    for k, (other_cols, other_ws) in grown.items():
        if k != i:
            row[k] = float(other_ws @ dense[other_cols])
    row[dead] = -1.0  # merged-away stories and the diagonal stay out
    return row


def _age(cid: str) -> int:
    return int(cid) if cid.isdigit() else 0


def _final(root: dict[str, str], cid: str) -> str:
    while cid in root:
        cid = root[cid]
    return cid


def apply(r: redis.Redis, engine: Engine, merges: Plan, partition: str = "",
          local: Commands | None = None, remote: Remote | None = None) -> Replies:
    """Store a plan: every source's members, size, centroid and postings go to its final target, in one
    atomic write with `local` and `remote` (more of the write: an admin log entry); returns `local`'s replies.

    The caller holds the partition's lock, so nothing changes between these reads and the write.
    """
    keys = engine.keys.part(partition)
    targets = {source: _final(merges.root, source) for source in merges.root}
    members = stories.members(r, keys, list(targets))
    postings = moved_postings(r, engine, targets, [h for ids in members.values() for h in ids], partition)
    return write_merges(r, keys, MergeWrite(targets, members, merges.centroids, postings,
                                            window_ttl(engine.settings.window_seconds)), local, remote)


def moved_postings(r: redis.Redis, engine: Engine, targets: dict[str, str], ids: list[str],
                   partition: str = "") -> dict[int, dict[int, list[str]]]:
    """The posting lists the moved headlines wrote, with merged stories renamed (bucket -> term -> ids),
    keeping order, dropping repeats and keeping the cap."""
    # A bucket's moved headlines may have no content words at all (a near-duplicate of "What they said"):
    # nothing posted, nothing to rename.
    posted = _posted(engine, headlines.rows(r, engine.keys, ids))
    current = snapshot.read_postings(r, engine.keys.part(partition), posted)
    cap = engine.settings.term_postings
    return {b: {t: _rename(cids, targets, cap) for t, cids in terms.items()} for b, terms in current.items()}


def _rename(cids: list[str], root: dict[str, str], cap: int) -> list[str]:
    out: list[str] = []
    for cid in cids:
        cid = root.get(cid, cid)
        if cid not in out:
            out.append(cid)
    return out[:cap]


def _posted(engine: Engine, rows: list[headlines.Row | None]) -> dict[int, set[int]]:
    """Bucket -> the terms these headlines posted under. Postings are not stored per headline, so each
    member's terms are recomputed from its stored title: exactly what its placing wrote."""
    found = [row for row in rows if row is not None]
    texts = [normalize(row.title, row.source or None) for row in found]
    terms: dict[int, set[int]] = {}
    for row, ts in zip(found, engine.vectorizer.term_ids(texts), strict=True):
        if ts:
            terms.setdefault(engine.bucket(row.published), set()).update(ts)
    return terms


def merge_open_locked(r: redis.Redis, engine: Engine, around: float, partition: str = "") -> int:
    """One merge pass over the partition's stories open around `around`; the caller holds its lock.
    Returns how many stories merged away."""
    s = engine.settings
    # Only stories last seen less than a window from `around`, so a late batch of yesterday's news
    # never merges yesterday's stories into today's.
    packed = window.open_around(r, engine.keys.part(partition), around - s.window_seconds, around + s.window_seconds)
    w, b = s.merge_embedding_weight, s.merge_embedding_baseline
    merges = plan(candidates(packed, s.merge_threshold, w, b), s.merge_threshold, s.centroid_terms, w, b)
    if merges.root:
        apply(r, engine, merges, partition)
    return len(merges.root)
