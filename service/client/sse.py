"""Server-Sent Events, read: the lines of GET /events turned into Event objects (the format is tiny:
`field: value` lines, a blank line ends a message, a line starting with `:` is a comment/keepalive)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from headline_dedup.client.models import Event

# Seconds without a byte before the stream counts as dead: the server sends a keepalive every 15.
READ_TIMEOUT = 45.0


class Parser:
    """Feed lines one at a time; `line` answers the Event a blank line completes."""

    def __init__(self) -> None:
        self._id = ""  # an id stays until the next one (SSE's "last event ID")
        self._kind = ""
        self._data: list[str] = []

    def line(self, text: str) -> Event | None:
        if text == "":
            return self._dispatch()
        if text.startswith(":"):
            return None
        name, _, value = text.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "id":
            self._id = value
        elif name == "event":
            self._kind = value
        elif name == "data":
            self._data.append(value)
        return None

    def _dispatch(self) -> Event | None:
        kind, eid, data = self._kind, self._id, "\n".join(self._data)
        self._kind, self._data = "", []
        if not data:
            return None
        parsed: Any = json.loads(data)
        return Event(id=eid, kind=kind or "message", data=parsed if isinstance(parsed, dict) else {"value": parsed})


def parse(lines: Iterator[str]) -> Iterator[Event]:
    parser = Parser()
    for text in lines:
        event = parser.line(text)
        if event is not None:
            yield event


async def aparse(lines: AsyncIterator[str]) -> AsyncIterator[Event]:
    parser = Parser()
    async for text in lines:
        event = parser.line(text)
        if event is not None:
            yield event


def headers(last_event_id: str | None) -> dict[str, str]:
    return {"Accept": "text/event-stream", **({"Last-Event-ID": last_event_id} if last_event_id else {})}
