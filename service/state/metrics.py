"""The /metrics figures as stored in Redis: one hash per namespace (Keys.metrics), and how to read them all.

Every API process and every worker adds to the same hash, so a scrape of any API process is true for the
whole deployment (prometheus_client's own counters live in one process's memory). Workers add one batch's
figures with one MULTI after the batch is written; the hash is a key of its own, written by its own
commands and never by a placement script, so it needs no slot shared with any partition's keys.

Fields: a counter is its name (`placed:new`, `failed`); a histogram `h` keeps `h:<bound>` per bucket (that
bucket's own count, not cumulative: a batch adds each observation to one field) and `h:sum`. Counts are
the buckets' sum, so count and buckets can never disagree. The bounds are part of the layout: a bound
added later starts at 0, one removed stops being read.

Two figures need no hash at all: accepted is the count of the ids list (the submit script adds each new
headline to it, in the same atomic step that stores it, so no crash can store one uncounted), and too
late is the running total the watermark already keeps (Totals.TOO_LATE).
"""

from __future__ import annotations

import bisect
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis
from redis.cluster import RedisCluster

from headline_dedup.state import headlines, window
from headline_dedup.state.commands import is_cluster
from headline_dedup.state.keys import Keys
from headline_dedup.state.records import Totals

log = logging.getLogger(__name__)

# Placement outcomes, the `kind` label of headlines_placed_total.
KINDS = ("new", "joined", "duplicate")
FAILED = "failed"


@dataclass(frozen=True)
class Histogram:
    name: str  # the field prefix
    bounds: tuple[float, ...]  # upper bounds of the finite buckets, ascending; +Inf is implied

    def bucket(self, value: float) -> str:
        """The field counting `value`: the first bound at or above it (Prometheus' `le`), else +Inf."""
        i = bisect.bisect_left(self.bounds, value)
        return self.field(self.bounds[i] if i < len(self.bounds) else None)

    def field(self, bound: float | None) -> str:
        return f"{self.name}:{'+Inf' if bound is None else repr(bound)}"

    @property
    def sum_field(self) -> str:
        return f"{self.name}:sum"


# Accepted to placed: milliseconds when idle, minutes in a backlog (the janitor re-enqueues after 300 s).
LATENCY = Histogram("latency", (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
                                300.0, 600.0))
# One batch, load to merge pass: tens of ms for a few headlines, seconds for 500 on a busy machine.
BATCH = Histogram("batch", (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0))
# A prepared batch waiting for its turn and its partition's lock: ~0 with one worker, up to a batch or
# two of placing with several.
LOCK_WAIT = Histogram("lock_wait", (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                                    10.0))
HISTOGRAMS = (LATENCY, BATCH, LOCK_WAIT)


@dataclass
class BatchFigures:
    """What one placed batch adds."""

    placed: Counter[str] = field(default_factory=Counter)  # kind -> headlines
    latencies: list[float] = field(default_factory=list)  # accepted to placed, seconds, one per headline
    batch_seconds: float = 0.0
    lock_wait_seconds: float = 0.0


def _increments(figures: BatchFigures) -> tuple[Counter[str], dict[str, float]]:
    """The hash fields to add to (integers) and the histogram sums (floats)."""
    counts: Counter[str] = Counter({f"placed:{kind}": n for kind, n in figures.placed.items() if n})
    sums: dict[str, float] = {}
    observed: list[tuple[Histogram, Iterable[float]]] = [
        (LATENCY, figures.latencies), (BATCH, [figures.batch_seconds]), (LOCK_WAIT, [figures.lock_wait_seconds])]
    for histogram, values in observed:
        values = [max(v, 0.0) for v in values]  # hosts' clocks may differ by a little: never a negative time
        if values:
            counts.update(histogram.bucket(v) for v in values)
            sums[histogram.sum_field] = sum(values)
    return counts, sums


def record_batch(r: redis.Redis, keys: Keys, figures: BatchFigures) -> None:
    """Add a placed batch's figures, in one MULTI (a scrape sees all of a batch or none). Metrics never fail
    a placement: the batch is written already, so a Redis error here is logged and the figures dropped."""
    counts, sums = _increments(figures)
    pipe = r.pipeline(transaction=True)
    for name, n in counts.items():
        pipe.hincrby(keys.metrics, name, n)
    for name, total in sums.items():
        pipe.hincrbyfloat(keys.metrics, name, total)
    _execute(pipe, "a batch's")


def record_failed(r: redis.Redis, keys: Keys, n: int) -> None:
    """Count headlines that failed for good."""
    if n:
        _execute(r.pipeline(transaction=False).hincrby(keys.metrics, FAILED, n), "the failed")


def _execute(pipe: redis.client.Pipeline, what: str) -> None:
    try:
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("could not add %s metrics (%s); /metrics will undercount them", what, exc)


@dataclass(frozen=True)
class HistogramFigures:
    buckets: list[tuple[str, int]]  # (le, cumulative count), +Inf last, as prometheus_client wants them
    sum: float

    @property
    def count(self) -> int:
        return self.buckets[-1][1]


@dataclass(frozen=True)
class Figures:
    """Everything /metrics shows, read at one moment."""

    accepted: int
    placed: dict[str, int]  # kind -> total
    failed: int
    too_late: int
    waiting: int
    queue_depth: int
    used_memory: int
    histograms: dict[str, HistogramFigures]  # Histogram.name -> figures


def read(r: redis.Redis, keys: Keys, queue_depth: int) -> Figures:
    """All stored figures (`queue_depth` is RQ's, which may live on another Redis). The running totals are
    one hash on one Redis, one per partition on a cluster (window.totals); memory is INFO's, summed over a
    cluster's primaries."""
    pipe = r.pipeline(transaction=False)
    pipe.zcard(keys.queued)
    pipe.hgetall(keys.metrics)
    pipe.smembers(keys.partitions)
    waiting, raw, named = pipe.execute()
    partitions = ["", *sorted(p.decode() for p in named)]
    stored = {k.decode(): v for k, v in raw.items()}
    return Figures(
        accepted=headlines.count(r, keys), placed={kind: int(stored.get(f"placed:{kind}", 0)) for kind in KINDS},
        failed=int(stored.get(FAILED, 0)), too_late=window.totals(r, keys, partitions).get(Totals.TOO_LATE, 0),
        waiting=int(waiting), queue_depth=queue_depth, used_memory=used_memory(r),
        histograms={h.name: _histogram(h, stored) for h in HISTOGRAMS})


def used_memory(r: redis.Redis) -> int:
    """used_memory of the Redis, or on a cluster the sum over its primaries."""
    if not is_cluster(r):
        return int(r.info("memory").get("used_memory", 0))
    per_node = r.info("memory", target_nodes=RedisCluster.PRIMARIES)
    return sum(int(info.get("used_memory", 0)) for info in per_node.values())


def _histogram(h: Histogram, stored: dict[str, bytes]) -> HistogramFigures:
    buckets, running = [], 0
    for bound in (*h.bounds, None):
        running += int(stored.get(h.field(bound), 0))
        buckets.append(("+Inf" if bound is None else repr(bound), running))
    return HistogramFigures(buckets, float(stored.get(h.sum_field, 0.0)))
