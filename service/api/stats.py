"""GET /stats: the figures of `headlines stats`."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from headline_dedup.api.deps import AppState, state
from headline_dedup.api.models import StatsOut, errors
from headline_dedup.overview import stats

router = APIRouter(tags=["stats"])


# A plain def: RQ's registry counts are blocking calls, so this runs on the thread pool, not the event loop.
@router.get("/stats", response_model=StatsOut, responses=errors(401, 503), summary="The service's vital numbers")
def read_stats(app: AppState = Depends(state)) -> dict:
    """Headlines, placed, duplicates, stories, waiting headlines, queue depth, jobs, workers, Redis memory."""
    return stats(app.redis, app.engine)
