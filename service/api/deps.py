"""What every route needs: the Redis client, the engine, the single-POST batcher."""

from __future__ import annotations

from dataclasses import dataclass

import redis
import redis.asyncio
from fastapi import Request
from prometheus_client import CollectorRegistry

from headline_dedup.api.batcher import Batcher
from headline_dedup.engine import Engine


@dataclass
class AppState:
    redis: redis.Redis
    engine: Engine
    batcher: Batcher
    # For the hot routes (GET a headline, POST), served on the event loop without a thread hop.
    aredis: redis.asyncio.Redis
    # /metrics' collector, reading Redis at scrape time (service/api/metrics.py).
    metrics: CollectorRegistry


def state(request: Request) -> AppState:
    app_state: AppState = request.app.state.headlines
    return app_state
