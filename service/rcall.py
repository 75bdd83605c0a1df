"""Many Redis commands in one round trip, packed with msgpack and run by one Lua script.

redis-py encodes every argument of a pipeline in pure Python, and a batch of 500 headlines needs about
a hundred thousand of them (LSH bands, terms, postings, member writes): that, not Redis, was most of a
worker's time. Here the whole list travels as one msgpack string, unpacked and run inside Redis, and the
replies come back as one msgpack string. A script runs atomically, so a list of writes is all-or-nothing,
as MULTI/EXEC would be.
"""

from __future__ import annotations

from typing import Any

import msgpack
import redis

# Runs each command of the msgpack list ARGV[1] and returns their replies, msgpack-packed. Lua's
# unpack() is bounded by the C stack (about 8000 values), so callers split long commands (see split()).
# One pseudo-command, HINCRBYMANY key field n [field n ...], saves a command per hashed term.
_RUN = """
local commands = cmsgpack.unpack(ARGV[1])
local replies = {}
for i, command in ipairs(commands) do
  if command[1] == 'HINCRBYMANY' then
    for j = 3, #command, 2 do
      redis.call('HINCRBY', command[2], command[j], command[j + 1])
    end
    replies[i] = (#command - 2) / 2
  else
    replies[i] = redis.call(unpack(command))
  end
end
return cmsgpack.pack(replies)
"""

MAX_ARGS = 4000

_scripts: dict[int, Any] = {}


def _script(r: redis.Redis) -> Any:
    # One registered script per client (EVALSHA), re-sent by redis-py if Redis restarted.
    key = id(r)
    if key not in _scripts:
        _scripts[key] = r.register_script(_RUN)
    return _scripts[key]


def run(r: redis.Redis, commands: list[list[Any]]) -> list[Any]:
    """Run the commands (each [name, key, args...]) in order, atomically; returns their replies.

    Missing values come back as False (Lua's nil), byte strings as bytes.
    """
    if not commands:
        return []
    raw = _script(r)(keys=[], args=[msgpack.packb(commands, use_bin_type=False)])
    replies: list[Any] = msgpack.unpackb(raw, raw=True, strict_map_key=False)
    return replies


def hmget_chunks(key: str, fields: list[Any]) -> list[list[Any]]:
    """HMGET commands for a long field list, each within Lua's argument limit. An empty list still
    gets one command (for a field that cannot exist), so every group has a reply to join."""
    return spread("HMGET", key, fields) or [["HMGET", key, "\x00none"]]


def hset_chunks(key: str, mapping: dict[Any, Any]) -> list[list[Any]]:
    return spread("HSET", key, [x for pair in mapping.items() for x in pair], step=2)


def spread(name: str, key: str, args: list[Any], step: int = 1, prefix: tuple[Any, ...] = ()) -> list[list[Any]]:
    """One command (HSET, ZADD, ZREM, RPUSH...) split into several within Lua's argument limit;
    `step` keeps pairs together, `prefix` (e.g. ZADD's GT) goes before every chunk's arguments."""
    size = MAX_ARGS - MAX_ARGS % step
    return [[name, key, *prefix, *args[i : i + size]] for i in range(0, len(args), size)]


def joined(replies: list[Any], start: int, count: int) -> list[Any]:
    """The replies of `count` consecutive chunked commands, concatenated."""
    out: list[Any] = []
    for reply in replies[start : start + count]:
        out.extend(reply)
    return out
