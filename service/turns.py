"""Batches are placed in the order they were enqueued, whatever the number of workers.

Placing is serialised by the assignment lock anyway, but the lock goes to whichever worker asks first:
with four workers a batch could be placed three batches early, and the stories of a stream placed out
of order split more (dev.csv: B-cubed F1 0.867 with one worker, 0.847 with four). So each batch takes a
ticket when it is enqueued, and a worker waits for the batches ahead of its own before taking the lock.
Order is a matter of quality, never of correctness: a ticket whose batch is lost (a job that failed for
good, headlines the janitor re-enqueued under new batches) is dropped once it has blocked the line for
`PATIENCE` seconds.
"""

from __future__ import annotations

import time

import redis

from headline_dedup.engine import Engine
from headline_dedup.state.commands import Commands

# Longest time a ticket may stay at the head of the line before it is taken for lost, seconds. A live batch ahead
# only needs its worker's prepare step and the current lock holder's turn, well under a second.
PATIENCE = 5.0
POLL = 0.005


def take(r: redis.Redis, engine: Engine, first_ids: list[str], partition: str = "") -> None:
    """Tickets, in order, for batches about to be enqueued (keyed by their first id). A batch enqueued
    again (a dead worker's) keeps the place it had."""
    if not first_ids:
        return
    keys = engine.keys.part(partition)
    last = int(r.incrby(keys.batch_seq, len(first_ids)))
    tickets = {hid: last - len(first_ids) + 1 + i for i, hid in enumerate(first_ids)}
    r.zadd(keys.turns, tickets, nx=True)


def wait(r: redis.Redis, engine: Engine, first_id: str, patience: float = PATIENCE, partition: str = "") -> None:
    """Return once no batch of the partition enqueued before this one is still waiting to be placed."""
    keys = engine.keys.part(partition)
    mine = first_id.encode()
    # Patience counts from the moment a batch reaches the head of the line, not from when this one began
    # to wait: a live batch two places ahead is not dropped because the one before it was slow.
    head_since: tuple[bytes | None, float] = (None, 0.0)
    while True:
        commands = Commands()
        mine_at, first = commands.call("ZSCORE", keys.turns, first_id), commands.call("ZRANGE", keys.turns, 0, 0)
        replies = commands.run(r)
        score, head = replies[mine_at], replies[first]
        if not score or not head or head[0] == mine:
            return
        now = time.monotonic()
        if head[0] != head_since[0]:
            head_since = (head[0], now)
        elif now - head_since[1] >= patience:
            r.zrem(keys.turns, head[0])  # lost or stuck: let the line move on
        time.sleep(POLL)


def leave(r: redis.Redis, engine: Engine, first_id: str, partition: str = "") -> None:
    """The batch is placed: the next one of its partition may go."""
    r.zrem(engine.keys.part(partition).turns, first_id)
