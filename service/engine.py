"""The per-process objects a batch needs: settings, key names, the MinHash signer and the vectoriser.

Built once per worker (and per API process), since datasketch's permutations and scikit-learn's
vectoriser are costly to set up and identical for every batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from headline_dedup.config import Settings
from headline_dedup.dedup import Signer
from headline_dedup.embedding import Embedder
from headline_dedup.keys import Keys
from headline_dedup.stories import Vectorizer

# Seconds before a lock whose holder died frees itself.
LOCK_TIMEOUT = 30


@dataclass
class Engine:
    settings: Settings
    keys: Keys = field(init=False)
    signer: Signer = field(init=False)
    vectorizer: Vectorizer = field(init=False)
    embedder: Embedder | None = field(init=False)

    def __post_init__(self) -> None:
        self.keys = Keys(self.settings.namespace)
        self.signer = Signer(self.settings.num_perm, self.settings.jaccard_threshold)
        self.vectorizer = Vectorizer()
        s = self.settings
        self.embedder = Embedder() if s.embedding_weight > 0 or s.merge_embedding_weight > 0 else None

    def lock(self, r: Any) -> Any:
        """The assignment lock: held while a batch, merge pass or admin action reads and writes stories.

        Polled every 5 ms rather than redis-py's 100 ms, since the next batch is usually waiting for it.
        """
        return r.lock(self.keys.assign_lock, timeout=LOCK_TIMEOUT, sleep=0.005,
                      blocking_timeout=self.settings.job_timeout)

    def bucket(self, published: float) -> int:
        return int(published // self.settings.window_seconds)


_ENGINES: dict[Settings, Engine] = {}


def engine_for(settings: Settings) -> Engine:
    if settings not in _ENGINES:
        _ENGINES[settings] = Engine(settings)
    return _ENGINES[settings]
