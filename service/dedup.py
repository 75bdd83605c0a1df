"""Near-duplicate detection: datasketch MinHash signatures, LSH bands kept in Redis.

Signatures are datasketch's (its default affine32 scheme, seed, permutations and SHA-1 token hash), but
computed for a whole batch at once: MinHash.bulk builds one object and a handful of small numpy arrays
per headline, which was a fifth of a worker's time. A test checks the values equal MinHash.bulk's.

Every worker shares one index. A band is stored as one field of a per-time-bucket Redis hash
(band digest -> id of the latest headline with that band), so a whole batch is looked up with one
HMGET per bucket instead of datasketch's one round trip per band per headline.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property, lru_cache

import numpy as np
from datasketch import MinHash, MinHashLSH
from datasketch.hashfunc import sha1_hash32

# Odd 64-bit multipliers that fold the r values of a band into one 64-bit digest.
_FOLD = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
     0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9],
    dtype=np.uint64,
)


class Signer:
    """MinHash signatures and their LSH band digests, with datasketch's band layout."""

    def __init__(self, num_perm: int, threshold: float) -> None:
        self.num_perm = num_perm
        self.threshold = threshold

    @cached_property
    def bands(self) -> tuple[int, int]:
        # datasketch picks (b, r) minimising false positives and negatives around the threshold.
        lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
        return lsh.b, lsh.r

    @cached_property
    def _permutations(self) -> tuple[np.ndarray, np.ndarray]:
        a, b = MinHash(num_perm=self.num_perm, scheme="affine32").permutations
        return np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)

    def sign(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """One uint32 row of num_perm values per token list, equal to datasketch's MinHash.bulk."""
        signatures = np.full((len(token_lists), self.num_perm), _EMPTY, dtype=np.uint32)
        filled = [i for i, tokens in enumerate(token_lists) if tokens]
        if not filled:
            return signatures
        vocabulary: dict[str, int] = {}
        rows = [vocabulary.setdefault(t, len(vocabulary)) for i in filled for t in token_lists[i]]
        a, b = self._permutations
        hashed = _fmix32(np.fromiter(map(_token_hash, vocabulary), dtype=np.uint32, count=len(vocabulary)))
        permuted = hashed[:, None] * a + b  # uint32 arithmetic: the wraparound is the scheme's modulo
        starts = np.cumsum([0] + [len(token_lists[i]) for i in filled[:-1]])
        signatures[filled] = np.minimum.reduceat(permuted[rows], starts, axis=0)
        return signatures

    def band_fields(self, signatures: np.ndarray) -> list[list[str]]:
        """Per signature, one hash field per band: 'band:digest'."""
        b, r = self.bands
        rows = signatures[:, : b * r].astype(np.uint64).reshape(len(signatures), b, r)
        multipliers = np.resize(_FOLD, r)
        with np.errstate(over="ignore"):
            digests = (rows * multipliers).sum(axis=2)
        return [[f"{i}:{d:x}" for i, d in enumerate(row)] for row in digests.tolist()]


_EMPTY = np.uint32(0xFFFFFFFF)


@lru_cache(maxsize=1 << 17)
def _token_hash(token: str) -> int:
    # SHA-1 is most of the cost per token, and headline vocabularies repeat a lot.
    return int(sha1_hash32(token.encode("utf-8")))


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finaliser, which datasketch's affine32 scheme applies to each token hash first."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


def pack_signature(signature: np.ndarray) -> bytes:
    return signature.astype("<u4").tobytes()


def unpack_signature(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<u4")
