"""What every route needs: the Redis client, the engine, the single-POST batcher."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from fastapi import Request

from service.api.batcher import Batcher
from service.engine import Engine


@dataclass
class AppState:
    redis: redis.Redis
    engine: Engine
    batcher: Batcher


def state(request: Request) -> AppState:
    app_state: AppState = request.app.state.headlines
    return app_state
