"""GET /healthz."""

from __future__ import annotations

import redis
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from headline_dedup.api.deps import AppState, state
from headline_dedup.api.models import errors

router = APIRouter(tags=["health"])


@router.get("/healthz", responses=errors(503), summary="200 when Redis answers, else 503")
def healthz(app: AppState = Depends(state)) -> JSONResponse:
    try:
        app.redis.ping()
    except (redis.RedisError, OSError):
        return JSONResponse({"status": "unavailable", "redis": False}, status_code=503)
    return JSONResponse({"status": "ok", "redis": True})
