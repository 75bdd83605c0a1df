"""Many Redis commands in one round trip, packed with msgpack and run by one Lua script (scripts.RUN).

redis-py encodes every argument of a pipeline in pure Python, and a batch of 500 headlines needs about
a hundred thousand of them (LSH bands, terms, postings, member writes): that, not Redis, was most of a
worker's time. Here the whole list travels as one msgpack string, unpacked and run inside Redis, and the
replies come back as one msgpack string. A script runs atomically, so a list of writes is all-or-nothing,
as MULTI/EXEC would be.

Each command that wants its reply gets a Handle, and the reply is read back by it: a command split into
chunks (a long HMGET) answers as one list, and no caller counts positions.

On a Redis Cluster a script may only touch keys of one slot. A list whose keys share a slot (a partition's
window state) still runs as one script; a list of reads over many slots (headline records) runs as a
pipeline, which the cluster client sends to each key's node; a list of writes over many slots is a bug,
refused here (such writes go through the outbox, service/state/outbox.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any, NamedTuple

import msgpack
import redis
import redis.asyncio
from redis.cluster import RedisCluster
from redis.crc import key_slot

from headline_dedup.state.scripts import RUN

# Arguments per command: Lua's unpack() is bounded by the C stack (about 8000 values).
MAX_ARGS = 4000
# Commands that only read: a list of nothing else may span slots on a cluster.
READS = frozenset({"GET", "HGET", "HMGET", "HGETALL", "LRANGE", "LLEN", "ZSCORE", "ZMSCORE", "ZRANGE", "ZRANGEBYSCORE",
                   "ZCARD", "EXISTS", "SMEMBERS"})


def is_cluster(r: object) -> bool:
    """Whether `r` is a Redis Cluster client (sync or asyncio)."""
    return isinstance(r, RedisCluster | redis.asyncio.RedisCluster)


def one_slot(keys: list[str]) -> bool:
    return len({key_slot(k.encode()) for k in keys}) <= 1


class Handle(NamedTuple):
    """Where a command's reply will be: `replies` consecutive replies from `start`, joined if `chunked`.
    A tuple, not a dataclass: a batch makes tens of thousands, and a frozen dataclass is slow to build."""

    start: int
    replies: int
    chunked: bool


class Replies:
    def __init__(self, raw: list[Any]) -> None:
        self._raw = raw

    def __getitem__(self, handle: Handle) -> Any:
        """The reply of the command behind `handle`: missing values are False (Lua's nil), strings bytes."""
        if not handle.chunked:
            return self._raw[handle.start]
        out: list[Any] = []
        for reply in self._raw[handle.start : handle.start + handle.replies]:
            out.extend(reply)
        return out


class Commands:
    """A list of commands, each on one key, run in order and atomically by `run`."""

    def __init__(self) -> None:
        self._commands: list[list[Any]] = []
        self._keys: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._commands)

    def _add(self, name: str, key: str, args: list[Any] | tuple[Any, ...]) -> None:
        index = self._keys.setdefault(key, len(self._keys) + 1)  # Lua counts from 1
        self._commands.append([name, index, *args])

    def call(self, name: str, key: str, *args: Any) -> Handle:
        """One command; its reply as Redis gives it."""
        start = len(self._commands)
        self._add(name, key, args)
        return Handle(start, 1, False)

    def spread(self, name: str, key: str, args: list[Any], step: int = 1, prefix: tuple[Any, ...] = ()) -> Handle:
        """One command (HSET, HMGET, ZADD, ZREM, RPUSH...) split into several within Lua's argument limit;
        `step` keeps pairs together, `prefix` (e.g. ZADD's GT) goes before every chunk's arguments. The
        handle reads the chunks' list replies as one list (an empty `args` sends nothing and reads [])."""
        start = len(self._commands)
        size = MAX_ARGS - MAX_ARGS % step
        if 0 < len(args) <= size and not prefix:  # the common case: one command, no copy of the arguments
            self._add(name, key, args)
            return Handle(start, 1, True)
        for i in range(0, len(args), size):
            self._add(name, key, [*prefix, *args[i : i + size]])
        return Handle(start, len(self._commands) - start, True)

    def each(self, name: str, calls: list[tuple[str, list[Any]]]) -> Handle:
        """`name` once per (key, args), in order, sent as one pseudo-command (scripts.RUN's EACH): a batch's
        hundreds of headline HMGETs or HSETs cost one entry of the list, not one each, and no handle each.
        The handle reads the list of their replies ([] for no calls, which sends nothing)."""
        start = len(self._commands)
        if not calls:
            return Handle(start, 0, True)
        flat: list[Any] = ["EACH", name]
        index = self._keys
        for key, args in calls:
            flat += (index.setdefault(key, len(index) + 1), len(args), *args)
        self._commands.append(flat)
        return Handle(start, 1, False)

    def hmget(self, key: str, fields: list[Any]) -> Handle:
        return self.spread("HMGET", key, fields)

    def hset(self, key: str, mapping: dict[Any, Any]) -> None:
        self.spread("HSET", key, list(chain.from_iterable(mapping.items())), step=2)  # twice a listcomp's speed

    def zadd(self, key: str, scores: dict[str, float], *flags: str) -> None:
        self.spread("ZADD", key, [x for member, score in scores.items() for x in (repr(score), member)],
                    step=2, prefix=flags)

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self.call("DEL", key)

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    def run(self, r: redis.Redis) -> Replies:
        if not self._commands:
            return Replies([])
        if is_cluster(r) and not one_slot(list(self._keys)):
            return self._pipelined(r)
        raw = RUN(r, list(self._keys), [msgpack.packb(self._commands, use_bin_type=False)])
        return Replies(msgpack.unpackb(raw, raw=True, strict_map_key=False))

    def _pipelined(self, r: redis.Redis) -> Replies:
        """Reads over many slots of a cluster: one pipeline, each command sent to its key's node."""
        writes = sorted({c[1] if c[0] == "EACH" else c[0] for c in self._commands} - READS)
        if writes:
            raise RuntimeError(f"cross-slot writes ({', '.join(writes)}) must go through the outbox")
        keys = list(self._keys)
        pipe = r.pipeline(transaction=False)
        spans: list[int | None] = []  # per command: how many calls an EACH sent, None for a plain command
        for command in self._commands:
            if command[0] == "EACH":
                calls = list(_each_calls(command))
                for index, args in calls:
                    pipe.execute_command(command[1], keys[index - 1], *args)
                spans.append(len(calls))
            else:
                pipe.execute_command(command[0], keys[command[1] - 1], *command[2:])
                spans.append(None)
        raw, out, at = pipe.execute(), [], 0
        for span in spans:
            out.append(raw[at] if span is None else raw[at : at + span])  # an EACH answers with a list
            at += 1 if span is None else span
        return Replies(out)


def _each_calls(command: list[Any]) -> Iterator[tuple[int, list[Any]]]:
    """(key index, args) of each call of an EACH command: [EACH, name, index, n, arg1..argn, ...]."""
    at = 2
    while at < len(command):
        n = command[at + 1]
        yield command[at], command[at + 2 : at + 2 + n]
        at += 2 + n
