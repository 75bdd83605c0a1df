"""GET /lookup: which story a title would join. Reads only."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from headline_dedup.api.deps import AppState, state
from headline_dedup.api.models import LookupOut, errors
from headline_dedup.intake import check_title, parse_time, partition_of
from headline_dedup.pipeline import LookupResult, lookup

router = APIRouter(tags=["lookup"])


@router.get("/lookup", response_model=LookupOut, responses=errors(401, 422, 503),
            summary="Which story would this title join?")
def lookup_title(
    title: str = Query(..., description="The headline to look up."),
    published_at: str | None = Query(None, description="ISO 8601; now when absent."),
    partition: str | None = Query(None, description="With partition_by: field, the partition to look in."),
    app: AppState = Depends(state),
) -> dict:
    """The story a new headline with this title would join (`cluster_id` null: it would open a new one),
    with the similarity score and the headline it would duplicate. Stores nothing."""
    result = look_up(app, title, published_at, partition)
    return {"cluster_id": result.cluster_id, "score": result.score, "duplicate_of": result.duplicate_of}


def look_up(app: AppState, title: str, published_at: str | None, partition: str | None) -> LookupResult:
    """A lookup as asked over HTTP (this route, and the browser's /find): the title and time checked as on
    submit, the partition as placement would pick it. BadInputError for a bad title or time."""
    clean = check_title(title, app.engine.settings)
    published = parse_time(published_at) if published_at else None
    return lookup(app.redis, app.engine, clean, published, partition_of(app.engine.settings, clean, partition))
