"""The assignment lock names its holder (service/state/locks.py): a hold left by a holder cut off by a
Redis restart is taken back by it at once, and a dead worker's hold is freed, not waited out (30 s)."""

from __future__ import annotations

import os
import threading

from headline_dedup.state import locks
from tests.helpers import BOTH

pytestmark = BOTH


def test_a_hold_left_by_a_batch_cut_off_is_taken_back_by_its_holder(r, engine):
    left = engine.lock(r)
    assert left.acquire(blocking=False)  # a batch took it; Redis went away before it could release
    again = engine.lock(r)  # the batch, placed again once Redis is back
    assert again.acquire(blocking=False)  # before the fix: held, until the 30 s timeout ran out
    again.release()
    assert not r.exists(engine.keys.assign_lock)


def test_another_threads_hold_still_excludes(r, engine):
    held = engine.lock(r)
    assert held.acquire(blocking=False)
    taken: list[bool] = []
    other = threading.Thread(target=lambda: taken.append(engine.lock(r).acquire(blocking=False)))
    other.start()
    other.join()
    assert taken == [False]
    held.release()


def test_the_hold_of_a_dead_process_is_freed_and_no_other(r, engine):
    key = engine.keys.assign_lock
    r.set(key, f"{locks.process_prefix(pid=999_999)}1:abc", px=30_000)
    assert locks.free(r, [key], pid=999_998) == 0 and r.exists(key)  # not that process's
    assert locks.free(r, [key], pid=999_999) == 1 and not r.exists(key)
    mine = engine.lock(r)
    assert mine.acquire(blocking=False)
    assert locks.free(r, [key], pid=os.getpid() + 1) == 0 and r.exists(key)
    mine.release()
