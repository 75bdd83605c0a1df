"""GET /metrics against a running service: two API processes, real RQ workers, the shipped sample.

Every figure is checked against what the service itself reports (`headlines stats --json`, the stored
statuses, RQ's registries), from whichever API process answers: the counters live in Redis, so each one
tells the whole deployment's totals.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from rq.registry import FailedJobRegistry, FinishedJobRegistry

from headline_dedup import procs
from headline_dedup.api.app import create_app
from headline_dedup.config import build_settings
from headline_dedup.embedded import free_port
from headline_dedup.overview import stats as overview_stats
from headline_dedup.queue import get_queue
from headline_dedup.state.records import Headline
from headline_dedup.store import get_headline
from tests.helpers import (
    BOTH,
    FED,
    ROOT,
    SAMPLE,
    UNRELATED,
    api_answers,
    cli,
    headline,
    load_sample,
    metric_samples,
    place,
    run_workers,
    wait_until,
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
HISTOGRAMS = ("headlines_placement_latency_seconds", "headlines_batch_seconds", "headlines_lock_wait_seconds")


@pytest.fixture
def two_apis(redis_url, r) -> Iterator[list[int]]:
    """Two API processes of their own (not one process's threads) on one Redis; yields their ports."""
    ports = [free_port(), free_port()]
    env = {**os.environ, "REDIS_URL": redis_url}
    with procs.Children() as children:
        for port in ports:
            children.add(procs.python("uvicorn", "--factory", "headline_dedup.api.app:create_app",
                                      "--port", str(port), "--log-level", "warning", cwd=ROOT, env=env))
        wait_until(lambda: all(api_answers(port) for port in ports), 60, "both API processes")
        yield ports


def scrape(port: int) -> Samples:
    answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return metric_samples(answer.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def counters(samples: Samples) -> dict[str, float]:
    """Every figure that does not move by itself (memory does): what two scrapes at rest must agree on."""
    return {f"{name}{dict(labels)}": v for (name, labels), v in samples.items()
            if name != "headlines_redis_used_memory_bytes"}


def post(port: int, rows: list[dict[str, str]]) -> None:
    body = {"headlines": [{"id": row["id"], "title": row["title"], "source": row["source"],
                           "published_at": row["published_at"]} for row in rows]}
    assert httpx.post(f"http://127.0.0.1:{port}/headlines", json=body, timeout=30).status_code == 202


def stats(redis_url: str) -> dict:
    out = cli({**os.environ, "REDIS_URL": redis_url}, "stats", "--json").stdout
    return dict(json.loads(out[out.index("{"):]))


def test_metrics_tell_the_whole_deployment_from_either_api_process(redis_url, r, engine, two_apis):
    rows = load_sample(SAMPLE)
    half = len(rows) // 2
    for i in range(0, len(rows), 100):  # each API process accepts about half of the sample
        post(two_apis[0] if i < half else two_apis[1], rows[i : i + 100])
    posted = time.time()
    wait_until(lambda: value(scrape(two_apis[1]), "headlines_queue_depth") == get_queue(r, engine).count > 0,
               10, "the batches to be enqueued")
    before = scrape(two_apis[0])
    assert value(before, "headlines_accepted_total") == value(before, "headlines_waiting") == len(rows)
    assert value(before, "headlines_placed_total", kind="new") == 0

    started = time.time()
    run_workers(redis_url, 2)
    after = [scrape(port) for port in two_apis]
    assert counters(after[0]) == counters(after[1])
    m, totals = after[0], stats(redis_url)
    assert value(m, "headlines_accepted_total") == totals["headlines"] == len(rows)
    kinds = {kind: value(m, "headlines_placed_total", kind=kind) for kind in ("new", "joined", "duplicate")}
    assert sum(kinds.values()) == totals["placed"] == len(rows)
    assert kinds["duplicate"] == totals["duplicates"] > 0
    assert kinds["new"] == int(r.get(engine.keys.cluster_seq)) > 0  # one new story per id handed out
    assert kinds["joined"] > 0
    assert value(m, "headlines_too_late_total") == totals["too_late"]
    assert value(m, "headlines_failed_total") == 0
    assert value(m, "headlines_waiting") == totals["waiting"] == 0
    assert value(m, "headlines_queue_depth") == totals["queue_depth"] == 0
    memory = value(m, "headlines_redis_used_memory_bytes")
    assert 0.5 < memory / totals["redis_memory_bytes"] < 2

    batches = FinishedJobRegistry(queue=get_queue(r, engine)).count
    assert value(m, "headlines_placement_latency_seconds_count") == totals["placed"]
    assert value(m, "headlines_batch_seconds_count") == value(m, "headlines_lock_wait_seconds_count") == batches
    for name in HISTOGRAMS:
        assert value(m, f"{name}_bucket", le="+Inf") == value(m, f"{name}_count")
    # Accepted to placed: each headline waited at least from the last POST to the workers' start, and at
    # most from the first POST to now. A time taken from published_at (2014) or from the job's start fails.
    latency_sum = value(m, "headlines_placement_latency_seconds_sum")
    assert (started - posted) * len(rows) <= latency_sum <= (time.time() - posted + 60) * len(rows)


def test_headlines_whose_batch_fails_for_good_are_counted_failed(redis_url, r, engine, two_apis):
    post(two_apis[0], [{"id": f"bad{i}", "title": f"{FED} {i}", "source": "", "published_at": ""}
                       for i in range(3)])
    for i in range(3):  # a stored time no worker can read: every attempt of the batch raises
        r.hset(engine.keys.headline(f"bad{i}"), Headline.PUBLISHED, "not-a-time")
    run_workers(redis_url, 1)
    for i in range(3):
        r.hset(engine.keys.headline(f"bad{i}"), Headline.PUBLISHED, "0")
    failed = sum(get_headline(r, engine, f"bad{i}")["status"] == "failed" for i in range(3))
    assert stats(redis_url)["failed_jobs"] == FailedJobRegistry(queue=get_queue(r, engine)).count == 1
    for port in two_apis:
        m = scrape(port)
        assert value(m, "headlines_failed_total") == failed == 3
        assert value(m, "headlines_accepted_total") == 3
        assert value(m, "headlines_placement_latency_seconds_count") == 0


TOKENS = {"read_token": "read-Token-2", "metrics_token": "metrics-Token-3"}


def test_metrics_need_the_metrics_token_and_not_the_read_token(redis_url, r):
    with TestClient(create_app(build_settings({"redis_url": redis_url, **TOKENS}), r)) as client:
        for headers in ({}, {"Authorization": f"Bearer {TOKENS['read_token']}"}, {"Authorization": "Bearer "}):
            answer = client.get("/metrics", headers=headers)
            assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer"), headers
        answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKENS['metrics_token']}"})
        assert answer.status_code == 200
        assert value(metric_samples(answer.text), "headlines_accepted_total") == 0
    # read_token alone guards every read route but /metrics, which has its own token.
    only_read = build_settings({"redis_url": redis_url, "read_token": TOKENS["read_token"]})
    with TestClient(create_app(only_read, r)) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get("/clusters/1").status_code == 401


def test_openapi_documents_metrics_and_its_401(redis_url, r):
    with TestClient(create_app(build_settings({"redis_url": redis_url}), r)) as client:
        route = client.get("/openapi.json").json()["paths"]["/metrics"]["get"]
    assert {"200", "401", "503"} <= set(route["responses"])
    assert "text/plain; version=0.0.4; charset=utf-8" in route["responses"]["200"]["content"]
    assert "metrics_token" in route["description"]


def test_the_grafana_dashboard_queries_only_metrics_the_api_exposes(redis_url, r):
    import re

    with TestClient(create_app(build_settings({"redis_url": redis_url}), r)) as client:
        exposed = {name for name, _ in metric_samples(client.get("/metrics").text)}
    dashboard = json.loads((ROOT / "monitoring" / "grafana" / "dashboards" / "headlines.json").read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    queried = {name for q in queries for name in re.findall(r"\bheadlines_[a-z_]+", q)}
    assert queried <= exposed, queried - exposed
    # Rates, latency quantiles, queue depth and memory each have a panel.
    assert {"headlines_placed_total", "headlines_placement_latency_seconds_bucket", "headlines_queue_depth",
            "headlines_redis_used_memory_bytes"} <= queried
    assert any("histogram_quantile" in q for q in queries)


def test_observations_land_in_the_buckets_prometheus_reads(r, engine):
    from headline_dedup.state.metrics import BatchFigures, read, record_batch

    figures = BatchFigures(latencies=[0.01, 0.011, 700.0, -1.0], batch_seconds=0.3, lock_wait_seconds=0.0)
    figures.placed.update(new=1, joined=2, duplicate=1)
    for _ in range(2):  # two batches add up
        record_batch(r, engine.keys, figures)
    stored = read(r, engine.keys, queue_depth=0)
    assert stored.placed == {"new": 2, "joined": 4, "duplicate": 2}
    latency = stored.histograms["latency"]
    cumulative = dict(latency.buckets)
    # A bound is inclusive (Prometheus' le); a negative time (clocks of two hosts) counts as 0.
    assert (cumulative["0.01"], cumulative["0.025"], cumulative["600.0"], cumulative["+Inf"]) == (4, 6, 6, 8)
    assert latency.count == 8 and latency.sum == pytest.approx(2 * 700.021)
    assert dict(stored.histograms["batch"].buckets)["0.25"] == 0
    assert dict(stored.histograms["batch"].buckets)["0.5"] == 2


@BOTH
def test_metrics_on_one_redis_and_on_a_cluster_agree_with_stats(settings, r, engine):
    placed = place(r, engine, [headline("a", FED), headline("b", FED), *(headline(f"u{i}", t)
                                                                         for i, t in enumerate(UNRELATED))])
    with TestClient(create_app(settings, r)) as client:
        m = metric_samples(client.get("/metrics").text)
    totals = overview_stats(r, engine)
    assert value(m, "headlines_accepted_total") == totals["headlines"] == len(placed)
    assert value(m, "headlines_placed_total", kind="duplicate") == totals["duplicates"] == 1
    assert value(m, "headlines_placed_total", kind="new") == len({h["cluster_id"] for h in placed}) == 5
    assert value(m, "headlines_placed_total", kind="joined") == 0
    assert value(m, "headlines_placement_latency_seconds_count") == totals["placed"] == len(placed)
    assert value(m, "headlines_batch_seconds_count") == value(m, "headlines_lock_wait_seconds_count") == 1
    assert value(m, "headlines_too_late_total") == totals["too_late"]
    assert 0.5 < value(m, "headlines_redis_used_memory_bytes") / totals["redis_memory_bytes"] < 2
