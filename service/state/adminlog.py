"""The admin log's records: a stream of actions (merge, split, label, undo) and the set of undone ids.

An action's log entry is written by the action's own atomic write (`append` adds the XADD to its local
commands, see service/state/outbox.py), so there is no moment when the action has happened and its entry
not: a crash leaves both or neither, and every action can be undone. On one Redis that is one script
with everything else; on a Redis Cluster the local part must stay in the partition's slot, so each
partition keeps a log of its own there (Keys.admin_log), and reads go over every partition's log.
Stream ids of two logs can coincide (two partitions' actions in the same millisecond); `find` then says
so rather than pick one.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from headline_dedup.errors import AdminError
from headline_dedup.state.commands import Commands, Handle, Replies, is_cluster
from headline_dedup.state.keys import ADMIN_LOG_MAX, Keys
from headline_dedup.state.outbox import Remote


class LogEntry:
    """Fields of an admin log stream entry (Keys.admin_log)."""

    KIND = "kind"
    CLUSTERS = "clusters"  # JSON list of story ids
    DATA = "data"  # JSON object: what undo needs


Entry = tuple[str, str, list[str], dict[str, Any]]  # (id, kind, clusters, data)


def encode(kind: str, clusters: list[str], data: dict[str, Any]) -> dict[str, str]:
    return {LogEntry.KIND: kind, LogEntry.CLUSTERS: json.dumps(clusters), LogEntry.DATA: json.dumps(data)}


def decode(eid: bytes, fields: dict[bytes, bytes]) -> Entry:
    return (eid.decode(), fields[LogEntry.KIND.encode()].decode(), json.loads(fields[LogEntry.CLUSTERS.encode()]),
            json.loads(fields[LogEntry.DATA.encode()]))


def append(local: Commands, remote: Remote, keys: Keys, kind: str, clusters: list[str],
           data: dict[str, Any]) -> Handle:
    """Add the entry to an action's atomic write (`local`, `remote`); `entry_id` reads its id from the
    replies. The partition is named in Keys.partitions, which reads of every log go over."""
    fields = encode(kind, clusters, data)
    if keys.partition:
        remote.sadd(keys.partitions, [keys.partition])
    return local.call("XADD", keys.admin_log, "MAXLEN", "~", ADMIN_LOG_MAX, "*",
                      *[x for pair in fields.items() for x in pair])


def entry_id(replies: Replies, handle: Handle) -> str:
    raw = replies[handle]
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def mark_undone(local: Commands, keys: Keys, action_id: str) -> None:
    """Add to `local` (the undo's atomic write): this action has been undone."""
    local.call("SADD", keys.admin_undone, action_id)


def _logs(r: redis.Redis, keys: Keys) -> list[Keys]:
    """Whose logs hold the namespace's actions: one on one Redis, each partition's on a cluster."""
    if not is_cluster(r):
        return [keys]
    named = sorted(p.decode() if isinstance(p, bytes) else p for p in r.smembers(keys.partitions))
    return [keys.part(p) for p in dict.fromkeys(["", *named])]


def find(r: redis.Redis, keys: Keys, action_id: str) -> tuple[Keys, Entry]:
    """The entry with this id and the keys of the partition whose log holds it."""
    found = []
    for part in _logs(r, keys):
        try:
            entries = r.xrange(part.admin_log, action_id, action_id)
        except redis.ResponseError as exc:
            raise AdminError(f"{action_id!r} is not an action id (see `headlines history`)") from exc
        found += [(part, decode(*e)) for e in entries]
    if not found:
        raise AdminError(f"no admin action with id {action_id!r} (see `headlines history`)")
    if len(found) > 1:
        where = ", ".join(repr(part.partition) for part, _ in found)
        raise AdminError(f"action id {action_id} is in the logs of several partitions ({where}); "
                         "undo it with redis-cli")
    return found[0]


def recent(r: redis.Redis, keys: Keys, count: int) -> list[Entry]:
    """The newest `count` entries over every log, newest first."""
    entries = [decode(*e) for part in _logs(r, keys) for e in r.xrevrange(part.admin_log, count=count)]
    return sorted(entries, key=lambda e: tuple(int(x) for x in e[0].split("-")), reverse=True)[:count]


def after(r: redis.Redis, keys: Keys, action_id: str) -> list[Entry]:
    """The entries of this partition's log after `action_id`, oldest first."""
    return [decode(*e) for e in r.xrange(keys.admin_log, f"({action_id}", "+")]


def undone(r: redis.Redis, keys: Keys) -> set[str]:
    """Every undone action id (of every partition's log on a cluster)."""
    return {x.decode() for part in _logs(r, keys) for x in r.smembers(part.admin_undone)}
