"""POST /headlines and GET /headlines/{id}."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from headline_dedup.api.deps import AppState, state
from headline_dedup.api.models import Accepted, HeadlineOut, errors
from headline_dedup.errors import BadInputError
from headline_dedup.intake import parse_headline, parse_many
from headline_dedup.store import get_headline_async, submit_async, wait_headline_async

router = APIRouter(tags=["headlines"])
# The longest GET /headlines/{id}?wait= may hold a request open, seconds: under common proxy timeouts.
MAX_WAIT = 30.0

_BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"oneOf": [
            {"$ref": "#/components/schemas/HeadlineIn"}, {"$ref": "#/components/schemas/BatchIn"},
        ]}}},
    }
}


def _parse_body(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadInputError("request body is not valid UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise BadInputError(f"request body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise BadInputError("request body is nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise BadInputError(f"request body is not acceptable JSON: {exc}") from exc


@router.post("/headlines", status_code=202, response_model=Accepted, openapi_extra=_BODY_SCHEMA,
             responses=errors(401, 422, 503),
             summary="Submit one headline or a batch")
async def post_headlines(request: Request, app: AppState = Depends(state)) -> Accepted:
    """One headline `{"title", "id"?, "source"?, "published_at"?}` or `{"headlines": [...]}`.

    Answers 202 with the ids; each is placed in a story by the workers shortly after. A batch with any
    bad item is rejected whole (422, with the index and reason of each bad item), and nothing is stored.
    """
    body = _parse_body(await request.body())
    settings = app.engine.settings
    if isinstance(body, dict) and "headlines" in body:
        items = body["headlines"]
        if set(body) != {"headlines"}:
            raise BadInputError("a batch has only the field 'headlines'")
        if not isinstance(items, list) or not items:
            raise BadInputError("'headlines' must be a non-empty list")
        if len(items) > settings.max_batch:
            raise BadInputError(f"batch of {len(items)} is over the maximum of {settings.max_batch}")
        headlines = parse_many(items, settings)
    else:
        headlines = [parse_headline(body, settings)]
    new = await submit_async(app.aredis, app.engine, headlines)
    if new:
        app.batcher.add(new)
    return Accepted(ids=[h.id for h in headlines], new=len(new))


# `:path`, so an id with a slash (allowed on POST, sent as %2F) can be read back.
@router.get("/headlines/{headline_id:path}", response_model=HeadlineOut, responses=errors(401, 404, 422, 503),
            summary="A headline and its story")
async def read_headline(
    headline_id: str,
    wait: float = Query(0, ge=0, le=MAX_WAIT, description="Seconds to wait for a queued headline to be placed: "
                                                          "the answer comes as soon as it is, or after this "
                                                          "long with what there is (status still `queued`)."),
    app: AppState = Depends(state),
) -> JSONResponse:
    """Status (`queued`, `done`, `failed`), story id and the headline it duplicates, if any. 404 when unknown."""
    # Answered as built: the view has exactly HeadlineOut's fields, and re-validating it per read
    # would cost more than the Redis read itself.
    if wait:
        return JSONResponse(await wait_headline_async(app.aredis, app.engine, headline_id, wait))
    return JSONResponse(await get_headline_async(app.aredis, app.engine, headline_id))
