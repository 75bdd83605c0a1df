"""Writes outside a partition's slot: straight into the batch's script on one Redis, through an outbox on
a Redis Cluster.

A batch (or merge pass, or admin action) changes its partition's window state, which lives in one slot,
and records that live everywhere: headlines, stories, members, the story list, the queued set. One Redis
runs it all as one atomic script. A cluster cannot (a script touches one slot), so there the remote
writes are packed into one outbox entry, stored in the partition's slot by the same atomic script that
changes the window state, then applied slot by slot and the entry deleted. A worker that dies in
between leaves the entry behind, and whoever takes the partition's lock next (the next batch, another
worker, an admin action) applies it first (`finish`). Every remote write is idempotent, so an entry
applied twice (died after applying, before deleting) writes what it wrote once: final values (HSET,
ZADD, ZREM, DEL, a whole list), and members appended at a known position, never a counter bumped.

Change events (service/state/events.py) go the same way. On one Redis their XADD is a command of the
script, so an event exists exactly when what it describes does. On a cluster the stream is one key for
every partition (so one XREAD follows them all, in order), which is in a slot of its own, not the
partition's: its XADDs are the last writes of the entry, applied after the records they describe (a
reader that looks a placed headline up finds it). Tagging it per partition instead would make every
reader XREAD one stream per partition across nodes and lose the single order. An XADD is the one write
here that is not idempotent: an entry applied again after a crash (applied, not yet deleted) repeats its
events, so on a cluster delivery is at least once, in that rare case; consumers key on the event's data.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import msgpack
import redis

from headline_dedup.state import events as stream
from headline_dedup.state.commands import Commands, Replies, is_cluster
from headline_dedup.state.keys import Keys

log = logging.getLogger(__name__)

# Appends ARGV[2..] to list KEYS[1] as its items from position ARGV[1] on, unless they are there already:
# applying an entry again pushes nothing twice. One key: fine on any node.
APPEND_AT = """
local have = redis.call('LLEN', KEYS[1])
local start = tonumber(ARGV[1])
for i = 2 + math.max(have - start, 0), #ARGV do
  redis.call('RPUSH', KEYS[1], ARGV[i])
end
return have
"""

# Makes list KEYS[1] exactly ARGV (empty: no list).
SET_LIST = """
redis.call('DEL', KEYS[1])
for i = 1, #ARGV do
  redis.call('RPUSH', KEYS[1], ARGV[i])
end
return #ARGV
"""


@dataclass
class Append:
    """Members joining a story: its list gains `ids` and its size the same number."""

    key: str
    ids: list[str]
    size_key: str
    size_field: str


@dataclass
class Remote:
    """The writes of one placement to records outside the partition's slot, in order."""

    ops: list[list[Any]] = field(default_factory=list)
    appends: list[Append] = field(default_factory=list)  # where each 'append' op is filled in
    events: list[list[Any]] = field(default_factory=list)  # [key, XADD args before the fields, fields]

    def hset(self, key: str, mapping: dict[str, Any]) -> None:
        """A record's few fields (sent as one of an EACH on one Redis: not for a mapping of thousands)."""
        if mapping:
            self.ops.append(["hset", key, list(chain.from_iterable(mapping.items()))])

    def hdel(self, key: str, fields: list[str]) -> None:
        self.ops.append(["hdel", key, fields])

    def append(self, key: str, ids: list[str], size_key: str, size_field: str) -> None:
        self.appends.append(Append(key, ids, size_key, size_field))
        self.ops.append(["append", len(self.appends) - 1])

    def set_list(self, key: str, ids: list[str], size_key: str, size_field: str) -> None:
        """The story's members become exactly `ids` (its size too)."""
        self.ops.append(["setlist", key, ids])
        self.ops.append(["hset", size_key, [size_field, len(ids)]])

    def zadd(self, key: str, scores: dict[str, float], gt: bool = False) -> None:
        if scores:
            self.ops.append(["zadd", key, [x for m, s in scores.items() for x in (repr(s), m)], gt])

    def zrem(self, key: str, members: list[str]) -> None:
        if members:
            self.ops.append(["zrem", key, members])

    def delete(self, key: str) -> None:
        self.ops.append(["del", key])

    def sadd(self, key: str, members: list[str]) -> None:
        if members:
            self.ops.append(["sadd", key, members])

    def event(self, keys: Keys, entry: list[str]) -> None:
        """A change event (events.placed, ...), written with the rest, after it."""
        self.events.append([keys.events, stream.xadd_args(keys), entry])

    def into(self, commands: Commands) -> None:
        """One Redis: the writes as plain commands of the batch's own script (atomic with it). A run of
        HSETs (one per placed headline) goes as one EACH, and so do the events."""
        hsets: list[tuple[str, list[Any]]] = []
        for op in self.ops:
            kind = op[0]
            if kind == "hset":
                hsets.append((op[1], op[2]))
                continue
            commands.each("HSET", hsets)  # before the next write, in order
            hsets = []
            if kind == "append":
                a = self.appends[op[1]]
                commands.spread("RPUSH", a.key, a.ids)
                commands.call("HINCRBY", a.size_key, a.size_field, len(a.ids))
            elif kind == "setlist":
                commands.call("DEL", op[1])
                commands.spread("RPUSH", op[1], op[2])
            elif kind == "zadd":
                commands.spread("ZADD", op[1], op[2], step=2, prefix=("GT",) if op[3] else ())
            elif kind == "del":
                commands.call("DEL", op[1])
            else:
                commands.spread(kind.upper(), op[1], op[2])
        commands.each("HSET", hsets)
        commands.each("XADD", [(key, [*args, *entry]) for key, args, entry in self.events])

    def pack(self, r: redis.Redis) -> bytes:
        """The entry for a cluster: each append with its list's length now (the caller holds the lock,
        and the outbox is finished, so nothing else changes those lists meanwhile) and its final size."""
        pipe = r.pipeline(transaction=False)
        for a in self.appends:
            pipe.llen(a.key)
        lengths = pipe.execute()
        ahead: dict[str, int] = {}  # a list appended twice in one entry (two stories merged into one)
        ops: list[list[Any]] = []
        for op in self.ops:
            if op[0] != "append":
                ops.append(op)
                continue
            a = self.appends[op[1]]
            start = ahead.get(a.key, int(lengths[op[1]]))
            ahead[a.key] = start + len(a.ids)
            ops.append(["append", a.key, start, a.ids])
            ops.append(["hset", a.size_key, [a.size_field, start + len(a.ids)]])
        ops += [["xadd", key, [*args, *entry]] for key, args, entry in self.events]
        return msgpack.packb(ops, use_bin_type=False)


def entry_name(at_ns: int, pid: int) -> str:
    """An outbox entry's field: zero-padded time first, so finish applies older entries first."""
    return f"{at_ns:020d}:{pid}"


def commit(r: redis.Redis, keys: Keys, local: Commands, remote: Remote) -> Replies:
    """Write the partition's own commands and the remote writes: one script on one Redis; on a cluster
    the local script with the outbox entry, then the entry applied and deleted. Returns the replies of
    `local`'s commands (read by their handles: an admin action's log entry id, say)."""
    if not is_cluster(r):
        remote.into(local)
        return local.run(r)
    entry = entry_name(time.time_ns(), os.getpid())
    packed = remote.pack(r) if remote.ops or remote.events else None
    if packed is not None:
        local.call("HSET", keys.outbox, entry, packed)
    replies = local.run(r)
    if packed is not None:
        _apply(r, packed)
        r.hdel(keys.outbox, entry)
    return replies


def finish(r: redis.Redis, keys: Keys) -> int:
    """Apply and delete what a placement of this partition left in its outbox (its worker died before
    applying it); the caller holds the partition's lock. Returns how many entries there were."""
    if not is_cluster(r):
        return 0
    left: dict[bytes, bytes] = r.hgetall(keys.outbox)
    for entry in sorted(left):
        log.warning("finishing outbox entry %s of partition %r left by a placement that stopped",
                    entry.decode(), keys.partition)
        _apply(r, left[entry])
        r.hdel(keys.outbox, entry)
    return len(left)


def _apply(r: redis.Redis, packed: bytes) -> None:
    """Each write of an entry, in order, in one pipeline that the cluster client splits by node. Order
    matters only within one key, and a pipeline keeps the order of commands sent to one node."""
    ops = msgpack.unpackb(packed, raw=False)
    pipe = r.pipeline(transaction=False)
    xadds = [op for op in ops if op[0] == "xadd"]
    for op in ops:
        kind, key = op[0], op[1]
        if kind == "xadd":
            continue
        if kind == "append":
            pipe.execute_command("EVAL", APPEND_AT, 1, key, op[2], *op[3])
        elif kind == "setlist":
            pipe.execute_command("EVAL", SET_LIST, 1, key, *op[2])
        elif kind == "zadd":
            pipe.execute_command("ZADD", key, *(["GT"] if op[3] else []), *op[2])
        elif kind == "del":
            pipe.delete(key)
        else:
            pipe.execute_command(kind.upper(), key, *op[2])
    pipe.execute()
    if xadds:  # after the records they describe, which the pipeline may have sent to other nodes
        pipe = r.pipeline(transaction=False)
        for _, key, args in xadds:
            pipe.execute_command("XADD", key, *args)
        pipe.execute()
