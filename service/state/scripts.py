"""Every Lua script the service runs, each with the KEYS it touches declared, loaded once (EVALSHA).

A script names its keys in KEYS and never builds a key name itself: Redis Cluster routes a script by its
declared keys (and refuses one with none that touches data), and even one Redis only promises atomicity
and persistence for keys a script declared. Each script is sent once per server (SCRIPT LOAD on the first
NOSCRIPT, e.g. after a restart) and then called by its SHA-1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import redis
import redis.asyncio

from headline_dedup.state.records import Headline, Status


class Script:
    """A Lua script and the keys it declares (`keys`: what KEYS[1], KEYS[2]... are, for readers)."""

    def __init__(self, lua: str, keys: str) -> None:
        self.lua = lua
        self.keys = keys
        self.sha = hashlib.sha1(lua.encode()).hexdigest()

    def __call__(self, r: redis.Redis, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        try:
            return r.evalsha(self.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            r.script_load(self.lua)
            return r.evalsha(self.sha, len(keys), *keys, *args)

    async def call_async(self, r: redis.asyncio.Redis, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        try:
            return await r.evalsha(self.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            await r.script_load(self.lua)
            return await r.evalsha(self.sha, len(keys), *keys, *args)


# Runs each command of the msgpack list ARGV[1] and returns their replies, msgpack-packed. Each command is
# [name, key index, args...]: its one key is KEYS[index], so the script touches only declared keys. Lua's
# unpack() is bounded by the C stack (about 8000 values), so commands.Commands splits long ones. Two
# pseudo-commands: HINCRBYMANY key field n [field n ...] saves a command per hashed term, and
# EACH name [key-index n arg1..argn]... runs `name` once per key and answers with the list of their
# replies (a batch's headline HMGETs, HSETs or event XADDs: one entry of the list, not hundreds; only n
# values are unpacked at a time, so it needs no split).
RUN = Script("""
local commands = cmsgpack.unpack(ARGV[1])
local replies = {}
for i, command in ipairs(commands) do
  if command[1] == 'EACH' then
    local name, j, each = command[2], 3, {}
    while j <= #command do
      local n = command[j + 1]
      each[#each + 1] = redis.call(name, KEYS[command[j]], unpack(command, j + 2, j + 1 + n))
      j = j + 2 + n
    end
    replies[i] = each
  else
    command[2] = KEYS[command[2]]
    if command[1] == 'HINCRBYMANY' then
      for j = 3, #command, 2 do
        redis.call('HINCRBY', command[2], command[j], command[j + 1])
      end
      replies[i] = (#command - 2) / 2
    else
      replies[i] = redis.call(unpack(command))
    end
  end
end
return cmsgpack.pack(replies)
""", keys="every key of the commands, in order of first use")


# Stores each headline whose id is new, atomically, so two clients racing with one id store it once.
# ARGV: now, then id/title/source/published/partition per headline ('' for the default partition).
SUBMIT = Script(f"""
local new = {{}}
for i = 3, #KEYS, 2 do
  local a = (i - 3) / 2 * 5 + 2
  if redis.call('EXISTS', KEYS[i]) == 0 then
    redis.call('HSET', KEYS[i], '{Headline.TITLE}', ARGV[a + 1], '{Headline.SOURCE}', ARGV[a + 2],
               '{Headline.PUBLISHED}', ARGV[a + 3], '{Headline.STATUS}', '{Status.QUEUED.text}')
    if ARGV[a + 4] ~= '' then
      redis.call('HSET', KEYS[i], '{Headline.PARTITION}', ARGV[a + 4])
    end
    redis.call('RPUSH', KEYS[1], ARGV[a])
    redis.call('ZADD', KEYS[2], ARGV[1], ARGV[a])
    redis.call('ZADD', KEYS[i + 1], ARGV[a + 3], ARGV[a])
    new[#new + 1] = ARGV[a]
  end
end
return new
""", keys="ids list, queued zset, then per headline: its hash, its partition's unplaced zset")


# Marks a batch's headlines failed, except those already placed: a partial earlier run may have placed
# none, and a later retry (requeue-failed, the janitor) still places them and marks them done.
# Returns how many it marked (for headlines_failed_total).
MARK_FAILED = Script(f"""
local marked = 0
for i, key in ipairs(KEYS) do
  if redis.call('HGET', key, '{Headline.STATUS}') == '{Status.QUEUED.text}' then
    redis.call('HSET', key, '{Headline.STATUS}', '{Status.FAILED.text}')
    marked = marked + 1
  end
end
return marked
""", keys="one headline hash per headline of the batch")


# On a Redis Cluster, SUBMIT's keys are in many slots: each headline is stored by a script of its own key,
# as atomically (two clients racing with one id store it once). Returns 1 when stored now, 2 when it was
# stored before and still waits (its indexes are added again, harmlessly, in case a client died between
# the two steps), 0 otherwise. ARGV: title, source, published, partition.
CREATE = Script(f"""
local status = redis.call('HGET', KEYS[1], '{Headline.STATUS}')
if status then
  return status == '{Status.QUEUED.text}' and 2 or 0
end
redis.call('HSET', KEYS[1], '{Headline.TITLE}', ARGV[1], '{Headline.SOURCE}', ARGV[2],
           '{Headline.PUBLISHED}', ARGV[3], '{Headline.STATUS}', '{Status.QUEUED.text}')
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], '{Headline.PARTITION}', ARGV[4])
end
return 1
""", keys="the headline's hash")
