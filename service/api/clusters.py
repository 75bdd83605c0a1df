"""GET /clusters/{cluster_id}."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from headline_dedup.api.deps import AppState, state
from headline_dedup.api.models import ClusterOut, errors
from headline_dedup.store import get_cluster

router = APIRouter(tags=["clusters"])
# Past this an offset only finds nothing; near 2**63 Redis refuses the range outright (a 500 before).
MAX_OFFSET = 1_000_000_000


# Every field always present (a null is a null, as in GET /headlines/{id}): one schema per answer.
@router.get("/clusters/{cluster_id}", response_model=ClusterOut, responses=errors(404, 422, 503),
            summary="A story and its headlines")
def read_cluster(
    cluster_id: str,
    limit: int = Query(100, ge=1, le=10000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    app: AppState = Depends(state),
) -> dict:
    """Size, title, first and last seen, and a page of its headlines. 404 when unknown."""
    return get_cluster(app.redis, app.engine, cluster_id, limit=limit, offset=offset)
