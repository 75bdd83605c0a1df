"""GET /clusters (the story list) and GET /clusters/{cluster_id}."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query

from headline_dedup.api.deps import AppState, state
from headline_dedup.api.models import ClusterOut, ClustersOut, errors
from headline_dedup.intake import parse_time
from headline_dedup.overview import page_clusters
from headline_dedup.store import get_cluster

router = APIRouter(tags=["clusters"])
# Past this an offset only finds nothing; near 2**63 Redis refuses the range outright (a 500 before).
MAX_OFFSET = 1_000_000_000
# A page of the story list; `headlines clusters --top` is the way to more at once.
MAX_PAGE = 1000


@router.get("/clusters", response_model=ClustersOut, responses=errors(401, 422, 503),
            summary="The newest or the largest stories, a page at a time")
def list_stories(
    order: Literal["recent", "size"] = Query("recent", description="`recent`: last seen first; `size`: "
                                                                   "largest first."),
    since: str | None = Query(None, description="ISO 8601: only stories last seen at or after it."),
    limit: int = Query(20, ge=1, le=MAX_PAGE),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    app: AppState = Depends(state),
) -> dict:
    """Live stories (merged ones are left out) with size, title, first and last seen, and the total."""
    start = parse_time(since, "since") if since is not None else None
    rows, total = page_clusters(app.redis, app.engine, order, start, limit, offset)
    return {"clusters": rows, "total": total, "order": order, "limit": limit, "offset": offset}


# Every field always present (a null is a null, as in GET /headlines/{id}): one schema per answer.
@router.get("/clusters/{cluster_id}", response_model=ClusterOut, responses=errors(401, 404, 422, 503),
            summary="A story and its headlines")
def read_cluster(
    cluster_id: str,
    limit: int = Query(100, ge=1, le=10000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    app: AppState = Depends(state),
) -> dict:
    """Size, title, first and last seen, and a page of its headlines. 404 when unknown."""
    return get_cluster(app.redis, app.engine, cluster_id, limit=limit, offset=offset)
