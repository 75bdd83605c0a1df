"""The admin log, read: every merge, split, label and undo, what it needs to be undone, and whether it was.

Entries are written by the actions themselves, in the same atomic write (service/state/adminlog.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from headline_dedup.engine import Engine
from headline_dedup.state import adminlog


@dataclass
class Action:
    id: str
    kind: str
    clusters: list[str]
    data: dict[str, Any]
    at: str
    undone: bool = False


def _action(entry: adminlog.Entry, undone: set[str]) -> Action:
    eid, kind, clusters, data = entry
    millis = int(eid.split("-")[0])
    at = datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return Action(id=eid, kind=kind, clusters=clusters, data=data, at=at, undone=eid in undone)


def get(r: redis.Redis, engine: Engine, action_id: str) -> Action:
    part, entry = adminlog.find(r, engine.keys, action_id)
    return _action(entry, adminlog.undone(r, part))


def recent(r: redis.Redis, engine: Engine, count: int = 50) -> list[Action]:
    undone = adminlog.undone(r, engine.keys)
    return [_action(e, undone) for e in adminlog.recent(r, engine.keys, count)]


def later_touching(r: redis.Redis, engine: Engine, action: Action) -> tuple[Action, list[str]] | None:
    """A later, still standing action on any of the same clusters, and the clusters of `action` it changed,
    if there is one. `engine` is the action's partition's (admin.in_partition): actions never cross
    partitions."""
    undone = adminlog.undone(r, engine.keys)
    for entry in adminlog.after(r, engine.keys, action.id):
        later = _action(entry, undone)
        if later.kind == "undo" or later.id in undone:
            continue
        touched = [c for c in action.clusters if c in later.clusters]
        if touched:
            return later, touched
    return None
