"""The assignment lock's holder, named in its token, so a hold whose holder is gone ends at once rather
than after LOCK_TIMEOUT.

redis-py's lock stores a random token. Here the token starts with `host:pid:thread:`, which buys two
things. A worker cut off by a Redis restart in the middle of a batch (its release failed; the key came
back from the append-only file) places the batch again and finds its own hold: it takes it back instead
of waiting out the timeout behind itself. And a supervisor that sees a worker die (`headlines up`) frees
what that process held. Each thread has its own token, so two threads of one process still exclude each
other; nothing takes the lock it already holds (a nested take would have waited out the timeout before).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from typing import Any

import redis
from redis.lock import Lock

from headline_dedup.state.scripts import Script

# Take KEYS[1] for token ARGV[1] for ARGV[2] ms (0: no expiry): free, or already this holder's.
TAKE = Script("""
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then
  return 0
end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
""", keys="the lock")

# Delete KEYS[1] if its token starts with ARGV[1] (a holder's `host:pid:` prefix).
FREE = Script("""
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, #ARGV[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
""", keys="the lock")

_local = threading.local()


def process_prefix(pid: int | None = None, host: str | None = None) -> str:
    """The start of every token a process holds."""
    return f"{host or socket.gethostname()}:{pid or os.getpid()}:"


def _token() -> str:
    """This thread's token, the same for every take (a new process or thread gets a new one)."""
    key = (os.getpid(), threading.get_ident())
    if getattr(_local, "key", None) != key:
        _local.key, _local.token = key, f"{process_prefix()}{threading.get_ident()}:{uuid.uuid4().hex}"
    return str(_local.token)


class HolderLock(Lock):
    """redis-py's Lock whose token names its holder (see the module's docstring)."""

    def acquire(self, sleep: float | None = None, blocking: bool | None = None,
                blocking_timeout: float | None = None, token: Any = None) -> bool:
        return super().acquire(sleep=sleep, blocking=blocking, blocking_timeout=blocking_timeout,
                               token=token if token is not None else _token())

    def do_acquire(self, token: Any) -> bool:
        millis = int(self.timeout * 1000) if self.timeout else 0
        return bool(TAKE(self.redis, [self.name], [token, millis]))


def free(r: redis.Redis, lock_keys: list[str], pid: int, host: str | None = None) -> int:
    """Free every one of these locks that process `pid` of this host holds; returns how many."""
    prefix = process_prefix(pid, host)
    return sum(int(FREE(r, [key], [prefix])) for key in lock_keys)
