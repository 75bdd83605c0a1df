"""Faults: a worker killed mid-batch, Redis restarted while ingesting, one id sent by two clients at once.

Each checks the same promise: every accepted headline ends up done, in exactly one story, counted once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator, Sequence

import pytest
import redis
from fastapi.testclient import TestClient
from rq.worker import BaseWorker, Worker

from headline_dedup import procs
from headline_dedup.api.app import create_app
from headline_dedup.config import Settings, build_settings, get_settings
from headline_dedup.embedded import EmbeddedRedis, connect, free_port
from headline_dedup.engine import Engine, engine_for
from headline_dedup.queue import enqueue_ids, get_queue
from headline_dedup.state import headlines as stored
from headline_dedup.state.records import Status, Totals
from headline_dedup.store import export_rows, get_cluster, statuses, submit
from tests.helpers import DAY, FED, ROOT, SAMPLE, Hold, Output, api_answers, drain, headline, load_sample, wait_until


def sample_headlines(copies: int) -> list:
    rows = load_sample(SAMPLE)
    return [headline(f"{n}-{x['id']}", x["title"], DAY + n, x["source"]) for n in range(copies) for x in rows]


def assert_each_done_exactly_once(r: redis.Redis, engine: Engine, ids: list[str]) -> None:
    rows = {hid: (cid, status) for hid, cid, _, status in export_rows(r, engine)}
    assert Counter(stored.arrivals(r, engine.keys, 0, -1)) == Counter(ids)  # stored once each
    assert all(rows[hid] == (rows[hid][0], "done") and rows[hid][0] for hid in ids)
    members: Counter[str] = Counter()
    for cid in {cid for cid, _ in rows.values()}:
        assert cid is not None, "a done headline without a cluster"
        view = get_cluster(r, engine, cid, limit=100_000)
        assert view["size"] == len(view["headlines"]), cid
        members.update(h["id"] for h in view["headlines"])
    assert members == Counter(ids)  # each in exactly one members list, once
    assert int(r.hget(engine.keys.stats, Totals.DONE) or 0) == len(ids)
    assert r.zcard(engine.keys.queued) == 0


def done_count(r: redis.Redis, engine: Engine, ids: list[str]) -> int:
    return sum(st is Status.DONE for st in statuses(r, engine, ids))


# --- 3. one id, two clients at once ----------------------------------------------------------------------

def test_one_id_posted_by_many_clients_at_once_is_stored_once(settings, r, engine):
    clients = 8
    start = threading.Barrier(clients)
    answers: list[dict] = []
    app = create_app(settings, r)
    with TestClient(app) as api:
        def send(n: int) -> None:
            start.wait()
            answer = api.post("/headlines", json={"id": "same", "title": f"{FED} take {n}"})
            assert answer.status_code == 202
            answers.append(answer.json())

        threads = [threading.Thread(target=send, args=(n,)) for n in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        app.state.headlines.batcher.flush()
    assert sorted(a["new"] for a in answers) == [0] * (clients - 1) + [1]
    assert r.lrange(engine.keys.ids, 0, -1) == [b"same"]
    jobs = get_queue(r, engine).get_jobs()
    assert sum(job.args[1].count("same") for job in jobs) == 1  # one job's worth of work
    drain(r, engine)
    assert_each_done_exactly_once(r, engine, ["same"])


# --- 2. Redis restarted (append-only file on) while headlines arrive ---------------------------------------

@pytest.fixture
def own_redis(tmp_path, monkeypatch) -> Iterator[tuple[EmbeddedRedis, Settings]]:
    """A Redis of this test's own, with AOF, on a fixed port so it can come back at the same address."""
    server = EmbeddedRedis(tmp_path / "redis", persist=True, port=free_port()).start()
    monkeypatch.setenv("REDIS_URL", server.url)
    get_settings.cache_clear()
    try:
        yield server, build_settings({"redis_url": server.url})
    finally:
        server.stop()
        get_settings.cache_clear()


def start_worker(url: str, hold: Hold | None = None) -> tuple[subprocess.Popen[str], Output]:
    env = {**os.environ, "REDIS_URL": url, "PYTHONUNBUFFERED": "1"}
    process = procs.python("headline_dedup.workers", cwd=ROOT, env=hold.env(env) if hold else env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return process, Output(process)


stop = procs.stop


def workers_on(r: redis.Redis, engine: Engine) -> Sequence[BaseWorker]:  # rq 2 lists Worker, rq 3 BaseWorker
    return Worker.all(queue=get_queue(r, engine))


@pytest.mark.slow
def test_redis_restart_while_ingesting_loses_no_accepted_headline(own_redis, tmp_path, caplog):
    server, settings = own_redis
    engine = engine_for(settings)
    r = connect(server.url)
    accepted: list[str] = []
    hold = Hold(tmp_path / "hold")
    worker, said = start_worker(server.url, hold)

    def send(api: TestClient, n: int) -> int:
        # Alternate single POSTs (coalesced by the batcher) and batches (enqueued at once).
        items = [{"id": f"h{n}-{k}", "title": f"{FED} {n} {k}"} for k in range(1 if n % 2 else 20)]
        body = items[0] if len(items) == 1 else {"headlines": items}
        answer = api.post("/headlines", json=body)
        if answer.status_code == 202:
            accepted.extend(answer.json()["ids"])
        return answer.status_code

    try:
        wait_until(lambda: workers_on(r, engine), 30, "the worker to start")
        # A long flush_ms, so POSTs accepted just before the crash are still waiting in the batcher.
        slow_flush = settings.model_copy(update={"flush_ms": 1500})
        with TestClient(create_app(slow_flush, r), raise_server_exceptions=False) as api:
            big = [{"id": f"big-{h.id}", "title": h.title} for h in sample_headlines(1)[:500]]
            assert api.post("/headlines", json={"headlines": big}).status_code == 202
            accepted.extend(item["id"] for item in big)
            _, held = hold.wait_held(30)  # the big batch is in flight, held before its writes
            assert set(held) == {item["id"] for item in big}
            assert all(send(api, n) == 202 for n in range(40))
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()
            down = [send(api, n) for n in range(40, 46)]
            down += [api.get(path).status_code for path in ("/headlines/h1-0", "/clusters/1", "/healthz")]
            down.append(api.get("/lookup", params={"title": FED}).status_code)
            assert down == [503] * len(down), down
            hold.release()  # the batch goes on into the outage, and must say so rather than fail or crash
            said.wait_for("Redis unavailable in the middle of a batch", 30)
            wait_until(lambda: any("could not enqueue" in rec.getMessage() for rec in caplog.records), 30,
                       "the batcher's enqueue to fail while Redis is away")
            server.start()
            wait_until(lambda: send(api, 100) == 202, 20, "the API to take headlines again")
            assert all(send(api, n) == 202 for n in range(101, 140))
        # No janitor runs here: recovery must come from the batcher, the job and the worker themselves.
        wait_until(lambda: worker.poll() is not None or done_count(r, engine, accepted) == len(accepted), 60,
                   lambda: f"the worker to place everything ({done_count(r, engine, accepted)} of {len(accepted)} "
                           f"done; its last lines: {''.join(said.lines[-15:])})")
        assert worker.poll() is None, "the worker died instead of reconnecting"
    finally:
        stop(worker)
    assert_each_done_exactly_once(r, engine, accepted)


@pytest.mark.slow
def test_a_worker_started_while_redis_is_away_waits_for_it(own_redis):
    server, settings = own_redis
    engine = engine_for(settings)
    server.stop()
    worker, said = start_worker(server.url)
    try:
        said.wait_for("worker: Redis unavailable", 60)  # it started and found no Redis, and did not exit
        assert worker.poll() is None, "the worker exited instead of waiting for Redis"
        server.start()
        r = connect(server.url)
        ids = submit(r, engine, [headline("a", FED)])
        enqueue_ids(r, engine, ids)
        wait_until(lambda: worker.poll() is not None or done_count(r, engine, ids) == 1, 30, "the headline")
        assert worker.poll() is None, "the worker exited instead of waiting for Redis"
    finally:
        stop(worker)


# --- 1. a worker killed with SIGKILL in the middle of a batch, under `headlines up` ------------------------

@pytest.fixture
def hold(tmp_path) -> Hold:
    return Hold(tmp_path / "hold")


@pytest.fixture
def headlines_up(redis_url, tmp_path, hold) -> Iterator[int]:
    """`headlines up` with two workers on the session Redis, the first batch held; yields the API port."""
    port = free_port()
    env = hold.env({**os.environ, "REDIS_URL": redis_url, "HEADLINES_DATA_DIR": str(tmp_path / "data")})
    up = procs.python("headline_dedup.cli", "up", "--port", str(port), "--workers", "2", cwd=ROOT, env=env)
    try:
        wait_until(lambda: up.poll() is not None or api_answers(port), 60, "the API")
        assert up.poll() is None, "headlines up exited"
        yield port
    finally:
        hold.release()  # a held batch would keep its worker's warm shutdown waiting
        procs.stop(up, grace=30)


@pytest.mark.slow
def test_worker_killed_mid_batch_is_replaced_and_its_batch_placed_once(r, engine, headlines_up, hold):
    wait_until(lambda: len(workers_on(r, engine)) == 2, 60, "two workers")
    ids = submit(r, engine, sample_headlines(4))  # 2080 headlines: 5 jobs of up to 500
    enqueue_ids(r, engine, ids)
    victim, batch = hold.wait_held(60)
    original = {w.pid for w in workers_on(r, engine)}
    assert victim in original and batch and set(batch) <= set(ids)
    assert done_count(r, engine, batch) == 0  # held before its writes: killing it now is mid-batch
    os.kill(victim, signal.SIGKILL)

    wait_until(lambda: done_count(r, engine, ids) == len(ids), 120, "every headline to be placed")
    wait_until(lambda: {w.pid for w in workers_on(r, engine)} - original, 30, "a new worker")
    pids = {w.pid for w in workers_on(r, engine)}
    assert len(pids) == 2 and victim not in pids  # restarted, and the dead one unregistered
    assert_each_done_exactly_once(r, engine, ids)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["cluster"], indirect=True)
@pytest.mark.parametrize("point", ["prepare", "outbox", "applying"])
def test_on_a_cluster_a_worker_killed_mid_batch_loses_and_doubles_nothing(r, engine, settings, hold, tmp_path,
                                                                          point):
    """Killed before its commit, after the partition-slot script committed but before its outbox entry
    was applied, or half-way through applying it: the batch is placed once by the worker that follows."""
    port = free_port()
    # The settings fixture put REDIS_URL (a node), HEADLINES_REDIS_CLUSTER and HEADLINES_QUEUE_URL in os.environ.
    env = hold.env({**os.environ, "HD_TEST_HOLD_AT": point, "HEADLINES_DATA_DIR": str(tmp_path / "data")})
    up = procs.python("headline_dedup.cli", "up", "--port", str(port), "--workers", "2", cwd=ROOT, env=env)
    try:
        wait_until(lambda: up.poll() is not None or api_answers(port), 120, "the API")  # slow on a busy machine
        wait_until(lambda: len(workers_on(r, engine)) == 2, 60, "two workers")
        ids = submit(r, engine, sample_headlines(2))  # 1040 headlines: 3 jobs of up to 500
        enqueue_ids(r, engine, ids)
        victim, batch = hold.wait_held(60)
        assert batch and set(batch) <= set(ids)
        if point != "prepare":  # it holds the partition's lock: its entry is the only one
            assert r.hlen(engine.keys.outbox) == 1  # committed in its slot, the rest not (all) written
        if point != "applying":
            assert done_count(r, engine, batch) == 0  # the headlines' own records are written by the entry
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: done_count(r, engine, ids) == len(ids), 180, "every headline to be placed")
    finally:
        hold.release()
        procs.stop(up, grace=30)
    assert r.hlen(engine.keys.outbox) == 0
    assert_each_done_exactly_once(r, engine, ids)


@pytest.mark.slow
def test_redis_refusing_writes_is_a_503_not_a_500(own_redis):
    server, settings = own_redis
    r = connect(server.url)
    with TestClient(create_app(settings, r), raise_server_exceptions=False) as api:
        r.config_set("maxmemory", "1")  # every write now fails with OOM
        try:
            answer = api.post("/headlines", json={"id": "x", "title": FED})
        finally:
            r.config_set("maxmemory", "0")
        assert answer.status_code == 503 and "unavailable" in answer.json()["detail"]
        assert api.post("/headlines", json={"id": "x", "title": FED}).status_code == 202
