"""GET /events: the change event stream (service/state/events.py) as Server-Sent Events.

Each message is `id: <stream id>`, `event: placed|merged|split|labelled`, `data: <JSON>`. With no id the
stream starts at its end (new events only); with `Last-Event-ID` (what a browser's EventSource sends when
it reconnects) or `?last_event_id=` it first replays every event after that id still kept (config
`events_max`), then follows. A comment line every PING_SECONDS keeps proxies from closing an idle stream.
Redis is read with XREAD BLOCK on the API's asyncio client, so an open stream costs no thread.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis
import redis.asyncio
from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse

from headline_dedup.api.deps import AppState, state
from headline_dedup.api.models import errors
from headline_dedup.errors import BadInputError
from headline_dedup.state import events
from headline_dedup.state.keys import Keys

log = logging.getLogger(__name__)
router = APIRouter(tags=["events"])

# Seconds between keepalive comments on an idle stream (also how long one XREAD blocks).
PING_SECONDS = 15.0
# How long a browser's EventSource waits before reconnecting after the stream ends (the `retry:` field).
RETRY_MS = 1000

STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {"description": "A text/event-stream of `id:`, `event:` and `data:` (JSON) messages.",
          "content": {"text/event-stream": {"schema": {"type": "string"}}}}}


def message(event: events.Event) -> str:
    data = json.dumps(event.data, separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n"


async def follow(r: redis.asyncio.Redis, keys: Keys, after: str, ping: float = PING_SECONDS) -> AsyncIterator[str]:
    """The stream's messages after id `after`, for ever (the server ends it when the client goes)."""
    yield f"retry: {RETRY_MS}\n\n"
    while True:
        try:
            batch = await events.read(r, keys, after, block_ms=int(ping * 1000))
        except redis.RedisError as exc:  # the answer has begun: end it, and the client resumes from its id
            log.warning("GET /events ends: Redis failed (%s)", exc)
            return
        if not batch:
            yield ": ping\n\n"
            continue
        for event in batch:
            yield message(event)
        after = batch[-1].id


@router.get("/events", responses={**STREAM_DOC, **errors(401, 422, 503)}, response_class=StreamingResponse,
            summary="Change events (placed, merged, split, labelled) as Server-Sent Events")
async def stream_events(
    last_event_id_header: str | None = Header(None, alias="Last-Event-ID",
                                              description="Resume after this event id (EventSource sends it)."),
    last_event_id: str | None = Query(None, max_length=45,
                                      description="The same, for clients that cannot set headers; "
                                                  "`0` replays every event kept."),
    app: AppState = Depends(state),
) -> StreamingResponse:
    """`placed` {id, cluster_id, duplicate_of, partition}, `merged` {target, sources}, `split` {cluster_id,
    new_cluster_id, ids}, `labelled` {cluster_id, label}. New events only unless an id is given."""
    given = last_event_id_header if last_event_id_header is not None else last_event_id
    keys = app.engine.keys
    if given is not None:
        given = given.strip()
        if not events.valid_id(given):
            raise BadInputError(f"Last-Event-ID {given[:60]!r} is not an event id (like 1700000000000-0)")
    newest = await events.last_id(app.aredis, keys)  # Redis down: a 503 here, before the stream begins
    start = given if given is not None else newest
    return StreamingResponse(follow(app.aredis, keys, start), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
