"""The admin log: every merge, split, label and undo, kept in a Redis stream."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from headline_dedup.engine import Engine
from headline_dedup.errors import AdminError
from headline_dedup.state.keys import ADMIN_LOG_MAX
from headline_dedup.state.records import decode_log, encode_log


@dataclass
class Action:
    id: str
    kind: str
    clusters: list[str]
    data: dict[str, Any]
    at: str
    undone: bool = False


def record(r: redis.Redis, engine: Engine, kind: str, clusters: list[str], data: dict[str, Any]) -> str:
    entry = r.xadd(engine.keys.admin_log, encode_log(kind, clusters, data), maxlen=ADMIN_LOG_MAX, approximate=True)
    return str(entry.decode())


def _action(r: redis.Redis, engine: Engine, entry_id: bytes, fields: dict[bytes, bytes]) -> Action:
    eid = entry_id.decode()
    millis = int(eid.split("-")[0])
    kind, clusters, data = decode_log(fields)
    return Action(
        id=eid,
        kind=kind,
        clusters=clusters,
        data=data,
        at=datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        undone=bool(r.sismember(engine.keys.admin_undone, eid)),
    )


def get(r: redis.Redis, engine: Engine, action_id: str) -> Action:
    try:
        entries = r.xrange(engine.keys.admin_log, action_id, action_id)
    except redis.ResponseError as exc:
        raise AdminError(f"{action_id!r} is not an action id (see `headlines history`)") from exc
    if not entries:
        raise AdminError(f"no admin action with id {action_id!r} (see `headlines history`)")
    return _action(r, engine, *entries[0])


def recent(r: redis.Redis, engine: Engine, count: int = 50) -> list[Action]:
    return [_action(r, engine, eid, f) for eid, f in r.xrevrange(engine.keys.admin_log, count=count)]


def later_touching(r: redis.Redis, engine: Engine, action: Action) -> str | None:
    """The id of a later, still standing action on any of the same clusters, if there is one."""
    undone = {x.decode() for x in r.smembers(engine.keys.admin_undone)}
    for eid, fields in r.xrange(engine.keys.admin_log, f"({action.id}", "+"):
        later = _action(r, engine, eid, fields)
        if later.kind == "undo" or later.id in undone:
            continue
        if set(later.clusters) & set(action.clusters):
            return later.id
    return None


def mark_undone(r: redis.Redis, engine: Engine, action_id: str) -> None:
    r.sadd(engine.keys.admin_undone, action_id)
