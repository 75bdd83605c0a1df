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
from headline_dedup.embedded import EmbeddedRedis, connect
from headline_dedup.engine import Engine, engine_for
from headline_dedup.localcluster import LocalCluster


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


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A real 3-node Redis Cluster, started on first use (only tests run with backend "cluster" need it)."""
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """Where the state lives: "one" Redis (the default), or "cluster" (tests marked with helpers.BOTH run
    on both); on a cluster the queue is on the session's plain Redis."""
    return str(getattr(request, "param", "one"))


@pytest.fixture
def state_url(backend: str, request: pytest.FixtureRequest) -> str:
    """The state's URL for this test's backend: the plain Redis, or a node of the cluster."""
    if backend == "cluster":
        return str(request.getfixturevalue("redis_cluster").url)
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
def r(backend: str, redis_url: str, request: pytest.FixtureRequest) -> Iterator[redis.Redis]:
    plain = redis.Redis.from_url(redis_url)
    plain.flushdb()  # the state on one Redis, the queue beside a cluster
    if backend != "cluster":
        yield plain
        plain.close()
        return
    cluster: LocalCluster = request.getfixturevalue("redis_cluster")
    cluster.flush()
    client = connect(cluster.url, cluster=True)
    yield client
    client.close()
    plain.close()


@pytest.fixture
def settings(backend: str, state_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # Workers read settings from the environment, as in production; point them at the test server.
    monkeypatch.setenv("REDIS_URL", state_url)
    overrides: dict[str, object] = {"redis_url": state_url}
    if backend == "cluster":
        monkeypatch.setenv("HEADLINES_REDIS_CLUSTER", "true")
        monkeypatch.setenv("HEADLINES_QUEUE_URL", redis_url)
        overrides.update(redis_cluster=True, queue_url=redis_url)
    from headline_dedup.config import get_settings

    get_settings.cache_clear()
    return build_settings(overrides)


@pytest.fixture
def engine(settings: Settings, r: redis.Redis) -> Engine:
    return engine_for(settings)
