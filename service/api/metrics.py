"""GET /metrics: Prometheus text, read from Redis at scrape time, so any API process answers for all.

prometheus_client's own counters live in the memory of one process: with two API processes and four
workers, a scrape would see a sixth of the work. Here a custom Collector reads the figures every process
adds to Redis (service/state/metrics.py) when Prometheus asks, and nothing is kept in the process. The
default process and platform collectors are left out for the same reason: they would describe whichever
API process the scrape happened to reach.
"""

from __future__ import annotations

from collections.abc import Iterator

import redis
from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from headline_dedup.api.deps import AppState, state
from headline_dedup.api.models import errors
from headline_dedup.engine import Engine
from headline_dedup.queue import get_queue
from headline_dedup.state import metrics
from headline_dedup.state.metrics import BATCH, LATENCY, LOCK_WAIT, Histogram

router = APIRouter(tags=["metrics"])
# The text format generate_latest writes. Named here rather than CONTENT_TYPE_LATEST, which newer
# prometheus_client releases set to version=1.0.0, a header Prometheus 2 does not know.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

HISTOGRAM_HELP: dict[Histogram, tuple[str, str]] = {
    LATENCY: ("headlines_placement_latency_seconds", "Seconds from a headline accepted to placed in a story."),
    BATCH: ("headlines_batch_seconds", "Seconds a worker took to place one batch, load to merge pass."),
    LOCK_WAIT: ("headlines_lock_wait_seconds",
                "Seconds a prepared batch waited for its turn and its partition's assignment lock."),
}


class RedisCollector(Collector):
    """Every headlines_* metric, from one read of Redis per scrape."""

    def __init__(self, r: redis.Redis, engine: Engine) -> None:
        self.r = r
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        depth = get_queue(self.r, self.engine).count
        f = metrics.read(self.r, self.engine.keys, depth)
        yield CounterMetricFamily("headlines_accepted", "Headlines accepted (new ids stored).", value=f.accepted)
        placed = CounterMetricFamily("headlines_placed", "Headlines placed, by outcome: opened a new story, "
                                     "joined one, or duplicated a headline of one.", labels=["kind"])
        for kind, n in f.placed.items():
            placed.add_metric([kind], n)
        yield placed
        yield CounterMetricFamily("headlines_failed", "Headlines whose batch failed for good.", value=f.failed)
        yield CounterMetricFamily("headlines_too_late", "Headlines placed later than allowed_lateness_seconds "
                                  "behind the newest placed.", value=f.too_late)
        yield GaugeMetricFamily("headlines_queue_depth", "Batch jobs waiting on the RQ queue.", value=f.queue_depth)
        yield GaugeMetricFamily("headlines_waiting", "Headlines accepted and not yet placed.", value=f.waiting)
        yield GaugeMetricFamily("headlines_redis_used_memory_bytes", "used_memory of the state Redis.",
                                value=f.used_memory)
        for histogram, (name, doc) in HISTOGRAM_HELP.items():
            figures = f.histograms[histogram.name]
            yield HistogramMetricFamily(name, doc, buckets=figures.buckets, sum_value=figures.sum)


def registry_for(r: redis.Redis, engine: Engine) -> CollectorRegistry:
    # auto_describe off: registering must not read Redis (the app is built before Redis need answer).
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(r, engine))
    return registry


@router.get("/metrics", summary="Prometheus metrics of the whole deployment (all API processes and workers)",
            response_class=Response, responses={
                200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format 0.0.4."},
                **errors(401, 503)})
def scrape(app: AppState = Depends(state)) -> Response:
    """Needs `Authorization: Bearer <metrics_token>` when metrics_token is set; read_token does not apply."""
    registry = app.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE)
