"""The pipeline a user would write first, to compare against: one RQ job per headline, forking workers,
datasketch's MinHashLSH keeping its own index in Redis. Near duplicates only, no stories: it does less
work than the service, so the ratio flatters it.
"""

from __future__ import annotations

import redis
from datasketch import MinHash, MinHashLSH

DONE = "naive:done"
NUM_PERM = 128


def place_one(hid: str, title: str, host: str, port: int, password: str, threshold: float) -> str | None:
    """The RQ job: sign one headline, ask the index for a near duplicate, add it, record the answer."""
    signature = MinHash(num_perm=NUM_PERM)
    for word in title.lower().split():
        signature.update(word.encode("utf-8"))
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, storage_config={
        "type": "redis", "basename": b"naive", "redis": {"host": host, "port": port, "password": password}})
    found = lsh.query(signature)
    duplicate_of = found[0] if found else None
    lsh.insert(hid, signature, check_duplication=False)
    conn = redis.Redis(host=host, port=port, password=password)
    conn.hset(f"naive:h:{hid}", mapping={"dup": duplicate_of or ""})
    conn.incr(DONE)
    return duplicate_of
