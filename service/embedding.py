"""Static sentence embeddings of headlines: a cheap semantic signal beside TF-IDF.

The table (service/data/token_vectors.npz) holds one vector per WordPiece token of all-MiniLM-L6-v2,
distilled from the full transformer and fitted to its headline embeddings offline (see
bench/build_embeddings.py), so a headline's embedding is the mean of its tokens' vectors: no model runs
here. Tokens come from the same normalised text as the TF-IDF terms (content words only), split into
WordPieces by a greedy longest match over the model's vocabulary, with each word's pieces cached, so a
batch costs a gather and a segment sum.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from headline_dedup.normalize import content_words

TABLE = Path(__file__).resolve().parent / "data" / "token_vectors.npz"
# Words longer than this are left out (BERT's tokenizer turns them into [UNK] as well).
MAX_WORD_CHARS = 100
# Words whose pieces are cached; past this the cache starts again, so a worker's memory stays bounded.
CACHE_WORDS = 200_000


def _strip_accents(word: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", word) if unicodedata.category(ch) != "Mn")


class Embedder:
    """Normalised titles -> unit vectors (float32, `dims` wide; all zero for a title with no known piece)."""

    def __init__(self, path: Path = TABLE) -> None:
        with np.load(path, allow_pickle=False) as data:
            tokens = bytes(data["tokens"]).decode("utf-8").split("\n")
            vectors = data["vectors"]
            scale = data["scale"]
            center = data.get("center")
        self.dims = int(vectors.shape[1])
        self._table = vectors.astype(np.float32) * scale.astype(np.float32)
        self._center = None if center is None else center.astype(np.float32)
        self._vocab = {tok: i for i, tok in enumerate(tokens)}
        self._pieces: dict[str, list[int]] = {}

    def pieces(self, word: str) -> list[int]:
        """Rows of the word's WordPieces (greedy longest match); [] when some part has no piece."""
        cached = self._pieces.get(word)
        if cached is not None:
            return cached
        rows: list[int] = []
        text = _strip_accents(word)
        if len(text) <= MAX_WORD_CHARS:
            start = 0
            while start < len(text):
                end = len(text)
                row = None
                while end > start:
                    piece = text[start:end] if start == 0 else "##" + text[start:end]
                    row = self._vocab.get(piece)
                    if row is not None:
                        break
                    end -= 1
                if row is None:
                    rows = []
                    break
                rows.append(row)
                start = end
        if len(self._pieces) >= CACHE_WORDS:
            self._pieces.clear()
        self._pieces[word] = rows
        return rows

    def embed(self, normalized: Sequence[str]) -> np.ndarray:
        """One unit vector per normalised title: the mean of its content words' piece vectors, less the
        corpus mean (`center`), normalised. A title with no known piece gets a zero vector."""
        return self.embed_words([content_words(t) for t in normalized])

    def embed_words(self, content: Sequence[list[str]]) -> np.ndarray:
        """embed() of titles given as their content words (normalize.content_of)."""
        out = np.zeros((len(content), self.dims), dtype=np.float32)
        rows: list[int] = []
        counts = np.zeros(len(content), dtype=np.int64)
        cache = self._pieces
        for i, words in enumerate(content):
            before = len(rows)
            for word in words:
                found = cache.get(word)
                rows += found if found is not None else self.pieces(word)
            counts[i] = len(rows) - before
        if not rows:
            return out
        has = counts > 0
        starts = (np.cumsum(counts) - counts)[has]
        out[has] = np.add.reduceat(self._table[np.asarray(rows)], starts, axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        if self._center is not None:
            out[has] -= self._center
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            np.divide(out, norms, out=out, where=norms > 0)
        return out
