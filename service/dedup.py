"""Near-duplicate detection: datasketch MinHash signatures, LSH bands kept in Redis.

Signatures are datasketch's (its default affine32 scheme, seed, permutations and SHA-1 token hash), but
computed for a whole batch at once: MinHash.bulk builds one object and a handful of small numpy arrays
per headline, which was a fifth of a worker's time. A test checks the values equal MinHash.bulk's (with
word pairs, datasketch's MinHash given pair_hash for the pairs).

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

    def sign(self, token_lists: Sequence[Sequence[str]], pairs: bool = False) -> np.ndarray:
        """One uint32 row of num_perm values per token list, equal to datasketch's MinHash.bulk.

        With `pairs`, each pair of adjacent tokens counts as one more token, so word order counts: its
        hash is made from its two tokens' hashes (pair_hash) rather than SHA-1 of a new string, as most
        pairs are seen once and SHA-1 of them was two thirds of the signing time.
        """
        signatures = np.full((len(token_lists), self.num_perm), _EMPTY, dtype=np.uint32)
        filled = [i for i, tokens in enumerate(token_lists) if tokens]
        if not filled:
            return signatures
        vocabulary: dict[str, int] = {}
        rows = np.fromiter((vocabulary.setdefault(t, len(vocabulary)) for i in filled for t in token_lists[i]),
                           dtype=np.intp)
        lengths = np.fromiter((len(token_lists[i]) for i in filled), dtype=np.intp, count=len(filled))
        hashed = np.fromiter(map(_token_hash, vocabulary), dtype=np.uint32, count=len(vocabulary))[rows]
        ends = np.cumsum(lengths)
        found = self._minimums(hashed, ends - lengths)
        many = lengths > 1
        if pairs and many.any():
            inside = np.ones(len(hashed) - 1, dtype=bool)
            inside[ends[:-1] - 1] = False  # a list's last token and the next list's first are no pair
            counts = lengths[many] - 1
            pair_values = pair_hash(hashed[:-1], hashed[1:])[inside]
            found[many] = np.minimum(found[many], self._minimums(pair_values, np.cumsum(counts) - counts))
        signatures[filled] = found
        return signatures

    def _minimums(self, hashed: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Per run of token hashes (run i from starts[i] to the next start), the minimum of each
        permutation. In chunks of lists, so the tokens x permutations block stays in the CPU's cache."""
        a, b = self._permutations
        mixed = _fmix32(hashed)
        out = np.empty((len(starts), self.num_perm), dtype=np.uint32)
        for c in range(0, len(starts), _CHUNK):
            first, stop = starts[c], starts[c + _CHUNK] if c + _CHUNK < len(starts) else len(mixed)
            permuted = mixed[first:stop, None] * a + b  # uint32 arithmetic: the wraparound is the scheme's modulo
            out[c : c + _CHUNK] = np.minimum.reduceat(permuted, starts[c : c + _CHUNK] - first, axis=0)
        return out

    def band_fields(self, signatures: np.ndarray) -> list[list[str]]:
        """Per signature, one hash field per band: 'band:digest'."""
        b, r = self.bands
        rows = signatures[:, : b * r].astype(np.uint64).reshape(len(signatures), b, r)
        multipliers = np.resize(_FOLD, r)
        with np.errstate(over="ignore"):
            digests = (rows * multipliers).sum(axis=2)
        return [[f"{i}:{d:x}" for i, d in enumerate(row)] for row in digests.tolist()]


_EMPTY = np.uint32(0xFFFFFFFF)
_CHUNK = 256
# Odd (invertible modulo 2**32): a pair's hash is one to one with its first token's, for a given second.
_PAIR = np.uint32(0x9E3779B1)


def pair_hash(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The 32-bit hash of a token pair from its tokens' hashes; not symmetric, so (a, b) differs from (b, a).
    The affine32 scheme mixes it (_fmix32) like any token hash."""
    return first * _PAIR + second


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
