"""Story clustering: streaming TF-IDF vectors, story centroids, candidate search, assignment.

A story is a centroid: the sum of its headlines' TF-IDF vectors, cut to its heaviest terms. A headline
joins the open story whose centroid is most similar (cosine, less a penalty for time distance) when that
beats the threshold, else it opens a story. Candidates come from an inverted index (term -> recent
stories), ranked by shared term weight, so no headline is compared with every centroid.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np

from headline_dedup.normalize import content_words

N_FEATURES = 1 << 22
# last_seen, size, number of terms, embedding dimensions (0: none).
_HEADER = struct.Struct("<dIHH")
HEADER_SIZE = _HEADER.size
# Centroids written before embeddings: last_seen, size, then term ids and weights fill the rest. They
# stay readable (open stories, and blobs kept for admin undo, outlive an upgrade).
_OLD_HEADER = struct.Struct("<dI")


def _features(content: list[str]) -> list[str]:
    # Content words only (the caller cuts them, once per title): adjacent-word pairs were tried and scored no
    # better on dev.csv, at twice the terms per headline.
    return content


class Vectorizer:
    """Hashed term ids per title (scikit-learn's HashingVectorizer, so every worker agrees)."""

    def __init__(self) -> None:
        # Imported here: scikit-learn takes about a second to import, and reading a centroid needs none of it.
        from sklearn.feature_extraction.text import HashingVectorizer

        self._hashing = HashingVectorizer(
            analyzer=_features, n_features=N_FEATURES, alternate_sign=False, norm=None, binary=True
        )

    def term_ids(self, normalized: Sequence[str]) -> list[list[int]]:
        return self.term_ids_of([content_words(t) for t in normalized])

    def term_ids_of(self, content: Sequence[list[str]]) -> list[list[int]]:
        """Term ids of titles given as their content words (normalize.content_of)."""
        if not content:
            return []
        matrix = self._hashing.transform(content).tocsr()
        return [matrix.indices[matrix.indptr[i] : matrix.indptr[i + 1]].tolist() for i in range(len(content))]


def idf(df: int, n_docs: int) -> float:
    # scikit-learn's smooth IDF, over the documents seen so far.
    return math.log((1 + n_docs) / (1 + df)) + 1.0


def tfidf(terms: Iterable[int], df: dict[int, int], n_docs: int) -> dict[int, float]:
    """L2-normalised binary TF-IDF vector."""
    vec = {t: idf(df.get(t, 0), n_docs) for t in terms}
    norm = math.sqrt(sum(w * w for w in vec.values()))
    return {t: w / norm for t, w in vec.items()} if norm else {}


@dataclass
class Centroid:
    weights: dict[int, float]
    size: int
    last_seen: float
    # Sum of the members' unit embeddings (service.embedding), when the semantic signal is on.
    embedding: np.ndarray | None = None
    _norm: float | None = field(default=None, repr=False)
    _unit: np.ndarray | None = field(default=None, repr=False)  # embedding / its norm, for _unit_of
    _unit_of: np.ndarray | None = field(default=None, repr=False)

    @property
    def norm(self) -> float:
        if self._norm is None:
            self._norm = math.sqrt(sum(w * w for w in self.weights.values()))
        return self._norm

    def cosine(self, vec: dict[int, float]) -> float:
        norm = self.norm
        if not norm:
            return 0.0
        # A plain loop: this runs for every candidate of every headline, and beats sum() over a generator.
        weights = self.weights
        dot = 0.0
        for t, w in vec.items():
            if t in weights:
                dot += w * weights[t]
        return dot / norm

    def embedding_cosine(self, emb: np.ndarray) -> float | None:
        """Cosine of a unit embedding with the story's mean embedding; None when the story has none."""
        mine = self.embedding
        if mine is None:
            return None
        if self._unit_of is not mine:
            # Every change replaces the sum with a new array, so identity tells whether the unit is stale.
            norm = float(np.sqrt(mine @ mine))
            self._unit, self._unit_of = (mine / norm if norm else None), mine
        # .dot, not @: the same float32 dot product at half the call overhead, for every candidate story.
        return float(self._unit.dot(emb)) if self._unit is not None else None

    def add(self, vec: dict[int, float], published: float, keep: int, emb: np.ndarray | None = None) -> None:
        if emb is not None:
            self.embedding = emb.astype(np.float32) if self.embedding is None else self.embedding + emb
        weights = self.weights
        grown = 0.0  # how much the squared norm grows, so it need not be summed again
        for t, w in vec.items():
            old = weights.get(t, 0.0)
            weights[t] = old + w
            grown += w * (2 * old + w)
        if len(weights) > keep:
            self.weights = _strongest(weights, keep)
            self._norm = None
        elif self._norm is not None:
            self._norm = math.sqrt(self._norm * self._norm + grown)
        self.size += 1
        self.last_seen = max(self.last_seen, published)

    def absorb(self, other: Centroid, keep: int) -> None:
        """Take in another story's centroid (a merge), keeping the `keep` heaviest terms."""
        weights = dict(self.weights)
        for t, w in other.weights.items():
            weights[t] = weights.get(t, 0.0) + w
        self.weights = _strongest(weights, keep) if len(weights) > keep else weights
        if other.embedding is not None:
            self.embedding = other.embedding if self.embedding is None else self.embedding + other.embedding
        self.size += other.size
        self.last_seen = max(self.last_seen, other.last_seen)
        self._norm = None

    def remove(self, vec: dict[int, float], emb: np.ndarray | None = None) -> None:
        """Take one headline's vector back out (a split); terms left with no weight go."""
        weights = self.weights
        for t, w in vec.items():
            if t in weights:
                weights[t] -= w
        self.weights = {t: w for t, w in weights.items() if w > 1e-6}
        if emb is not None and self.embedding is not None:
            self.embedding = self.embedding - emb
        self.size = max(1, self.size - 1)
        self._norm = None


def _strongest(weights: dict[int, float], keep: int) -> dict[int, float]:
    return dict(sorted(weights.items(), key=itemgetter(1), reverse=True)[:keep])


def pack_centroid(c: Centroid) -> bytes:
    """Header, term ids (int32), weights (float32), then the embedding sum (float16) if there is one."""
    ids = np.fromiter(c.weights.keys(), dtype="<i4", count=len(c.weights))
    ws = np.fromiter(c.weights.values(), dtype="<f4", count=len(c.weights))
    emb = b"" if c.embedding is None else c.embedding.astype("<f2").tobytes()
    dims = 0 if c.embedding is None else len(c.embedding)
    return _HEADER.pack(c.last_seen, c.size, len(ids), dims) + ids.tobytes() + ws.tobytes() + emb


def _layout(raw: bytes) -> tuple[int, int, int]:
    """(header size, terms, embedding dimensions) of a packed centroid, in either format.

    The counts of the current header must account for every byte; an old blob whose first term id
    happened to look like such counts would be misread, a chance of about one in 10^5 per blob.
    """
    if len(raw) >= HEADER_SIZE:
        _, _, n, dims = _HEADER.unpack_from(raw)
        if HEADER_SIZE + 8 * n + 2 * dims == len(raw):
            return HEADER_SIZE, n, dims
    return _OLD_HEADER.size, (len(raw) - _OLD_HEADER.size) // 8, 0


def centroid_arrays(raw: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A packed centroid's term ids, weights and embedding sum (None if it has none), without copying."""
    start, n, dims = _layout(raw)
    ids = np.frombuffer(raw, dtype="<i4", count=n, offset=start)
    ws = np.frombuffer(raw, dtype="<f4", count=n, offset=start + 4 * n)
    emb = np.frombuffer(raw, dtype="<f2", count=dims, offset=start + 8 * n) if dims else None
    return ids, ws, emb


def unpack_centroid(raw: bytes) -> Centroid:
    last_seen, size = _OLD_HEADER.unpack_from(raw)  # the first two fields of both formats
    ids, ws, emb = centroid_arrays(raw)
    weights = ws.tolist()
    norm = math.sqrt(math.fsum(w * w for w in weights))
    return Centroid(dict(zip(ids.tolist(), weights, strict=True)), size, last_seen,
                    None if emb is None else emb.astype(np.float32), norm)


def rank_candidates(
    vec: dict[int, float], postings: Sequence[dict[int, list[str]]], limit: int
) -> list[str]:
    """Stories sharing the most term weight with vec (over every posting map given), best first."""
    scores: dict[str, float] = {}
    for index in postings:
        for t, w in vec.items():
            cids = index.get(t)
            if cids:
                for cid in cids:
                    scores[cid] = scores.get(cid, 0.0) + w
    return sorted(scores, key=scores.__getitem__, reverse=True)[:limit]


@dataclass
class Match:
    cluster_id: str | None
    score: float


def best_story(
    vec: dict[int, float],
    published: float,
    candidates: Iterable[str],
    centroids: dict[str, Centroid],
    window: float,
    time_penalty: float,
    small_penalty: float = 0.0,
    emb: np.ndarray | None = None,
    emb_weight: float = 0.0,
    emb_baseline: float = 0.0,
) -> Match:
    """The open story most similar to vec, by cosine less the time and small-story penalties.

    A story of one or two headlines has a centroid that one shared name can match (the first "Twitter
    ban" headline pulls in "Twitter turns 8"), so joining it needs more evidence: small_penalty / sqrt(size).
    """
    best = Match(None, 0.0)
    for cid in candidates:
        c = centroids.get(cid)
        if c is None:
            continue
        gap = published - c.last_seen
        if gap >= window:
            continue
        score = c.cosine(vec) - small_penalty / math.sqrt(max(c.size, 1))
        if gap > 0:
            score -= time_penalty * gap / window
        if emb is not None and emb_weight:
            # A headline or story with no known word piece has no embedding: no bonus, and no penalty.
            similarity = c.embedding_cosine(emb)
            if similarity is not None:
                score += emb_weight * (similarity - emb_baseline)
        if score > best.score:
            best = Match(cid, score)
    return best
