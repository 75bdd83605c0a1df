"""The per-process objects a batch needs: settings, key names, the MinHash signer and the vectoriser.

Built once per worker (and per API process), since datasketch's permutations and scikit-learn's
vectoriser are costly to set up and identical for every batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from headline_dedup.config import Settings
from headline_dedup.state.keys import Keys
from headline_dedup.state.locks import HolderLock

if TYPE_CHECKING:
    from headline_dedup.dedup import Signer
    from headline_dedup.embedding import Embedder
    from headline_dedup.stories import Vectorizer

# Seconds before a lock whose holder died frees itself.
LOCK_TIMEOUT = 30


@dataclass
class Engine:
    settings: Settings
    keys: Keys = field(init=False)

    def __post_init__(self) -> None:
        self.keys = Keys(self.settings.namespace, on_cluster=self.settings.redis_cluster,
                         events_max=self.settings.events_max)

    # Built on first use, imports included: datasketch, scikit-learn and the embedding table cost about a
    # second to load, which commands that place nothing (--help, show, stats, export) need not pay.
    @cached_property
    def signer(self) -> Signer:
        from headline_dedup.dedup import Signer

        return Signer(self.settings.num_perm, self.settings.jaccard_threshold)

    @cached_property
    def vectorizer(self) -> Vectorizer:
        from headline_dedup.stories import Vectorizer

        return Vectorizer()

    @cached_property
    def embedder(self) -> Embedder | None:
        from headline_dedup.embedding import Embedder

        s = self.settings
        return Embedder() if s.embedding_weight > 0 or s.merge_embedding_weight > 0 else None

    def warm(self) -> None:
        """Build everything placing needs now (a worker at start), rather than in its first batch."""
        _ = self.signer.bands, self.vectorizer, self.embedder

    def lock(self, r: Any, partition: str = "") -> Any:
        """A partition's assignment lock: held while a batch, merge pass or admin action reads and writes
        its stories. Partitions share no story, so each has a lock of its own.

        Polled every 2 ms rather than redis-py's 100 ms, since the next batch is usually waiting for it
        (at 5 ms the hand-over from one batch to the next idled 2.5 ms on average). Its
        token names the holder (service/state/locks.py): a holder cut off by a Redis restart takes its own
        hold back, and `headlines up` frees a dead worker's.
        """
        return r.lock(self.keys.part(partition).assign_lock, timeout=LOCK_TIMEOUT, sleep=0.002,
                      blocking_timeout=self.settings.job_timeout, lock_class=HolderLock)

    def bucket(self, published: float) -> int:
        return int(published // self.settings.window_seconds)


_ENGINES: dict[Settings, Engine] = {}


def engine_for(settings: Settings) -> Engine:
    if settings not in _ENGINES:
        _ENGINES[settings] = Engine(settings)
    return _ENGINES[settings]
