"""A real Redis for the whole session: REDIS_URL when set, else a server of our own on a free port.

Fixtures only: what tests import (builders, paths, drain) lives in tests/helpers.py.
Never the machine's default instance: tests flush their database, and must pass where none runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from headline_dedup.config import Settings, build_settings
from headline_dedup.embedded import EmbeddedRedis
from headline_dedup.engine import Engine, engine_for


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def r(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def settings(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # Workers read settings from the environment, as in production; point them at the test server.
    monkeypatch.setenv("REDIS_URL", redis_url)
    from headline_dedup.config import get_settings

    get_settings.cache_clear()
    return build_settings({"redis_url": redis_url})


@pytest.fixture
def engine(settings: Settings, r: redis.Redis) -> Engine:
    return engine_for(settings)
