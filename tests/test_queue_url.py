"""`queue_url`: RQ's queue on a Redis of its own, the stories on the state Redis, both over real servers."""

from __future__ import annotations

import redis

from headline_dedup.embedded import EmbeddedRedis
from tests.helpers import run_split


def test_the_queue_lives_on_its_own_redis_and_the_stories_on_the_state_redis(r, redis_url, tmp_path):
    with EmbeddedRedis(tmp_path / "queue", persist=False) as queue_server:
        stats = run_split(redis_url, queue_server.url)
        queue_keys = [k for k in redis.Redis.from_url(queue_server.url).scan_iter() if k.startswith(b"rq:")]
    assert stats["headlines"] == 520 and stats["waiting"] == 0
    assert queue_keys, "RQ wrote nothing on the queue Redis"
    assert not [k for k in r.scan_iter() if k.startswith(b"rq:")], "RQ keys landed on the state Redis"
