"""Near-duplicate detection: datasketch MinHash signatures, LSH bands kept in Redis.

Every worker shares one index. A band is stored as one field of a per-time-bucket Redis hash
(band digest -> id of the latest headline with that band), so a whole batch is looked up with one
HMGET per bucket instead of datasketch's one round trip per band per headline.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np
from datasketch import MinHash, MinHashLSH

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

    def sign(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """One uint32 row of num_perm values per token list."""
        if not token_lists:
            return np.zeros((0, self.num_perm), dtype=np.uint32)
        hashes = MinHash.bulk(
            [[t.encode("utf-8") for t in tokens] for tokens in token_lists], num_perm=self.num_perm
        )
        return np.vstack([m.hashvalues for m in hashes]).astype(np.uint32)

    def band_fields(self, signatures: np.ndarray) -> list[list[str]]:
        """Per signature, one hash field per band: 'band:digest'."""
        b, r = self.bands
        rows = signatures[:, : b * r].astype(np.uint64).reshape(len(signatures), b, r)
        multipliers = np.resize(_FOLD, r)
        with np.errstate(over="ignore"):
            digests = (rows * multipliers).sum(axis=2)
        return [[f"{i}:{d:x}" for i, d in enumerate(row)] for row in digests.tolist()]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


def pack_signature(signature: np.ndarray) -> bytes:
    return signature.astype("<u4").tobytes()


def unpack_signature(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<u4")
