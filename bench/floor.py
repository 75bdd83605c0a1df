"""The one-core compute floor: datasketch's MinHash.bulk over word tokens, in memory, nothing else.

What the service must do at the least per headline; end-to-end divided by this says how much of a core
the rest (Redis, RQ, TF-IDF, locking) costs.
"""

from __future__ import annotations

import time

from datasketch import MinHash

NUM_PERM = 128


def tokens(titles: list[str]) -> list[list[bytes]]:
    return [[w.encode("utf-8") for w in t.lower().split()] for t in titles]


def measure(titles: list[str], repeats: int = 3) -> dict[str, float]:
    """Best of `repeats` runs, headlines/s: the floor is what one core can do, not an average."""
    toks = tokens(titles)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        MinHash.bulk(toks, num_perm=NUM_PERM)
        best = min(best, time.perf_counter() - start)
    return {"n": len(titles), "seconds": best, "rate": len(titles) / best}
