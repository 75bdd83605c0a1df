"""`python -m bench --soak MINUTES`: `headlines up` under a steady feed while things break.

A feed at about half the measured capacity goes through the HTTP API of a real `headlines up` (embedded
Redis with its append-only file, 2 workers). Every minute one worker is killed with SIGKILL; half way the
Redis server itself is killed (SIGKILL; `up` restarts it from its append-only file). At the end every
accepted headline must be in exactly one story, once, and the placement latency (202 to `done`, seen by
polling every POLL seconds) is reported as p50/p99/max.
"""

from __future__ import annotations

import os
import signal
import statistics
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import httpx
import redis
from rq import Worker

from bench.procs import ROOT
from headline_dedup import procs
from headline_dedup.config import build_settings
from headline_dedup.embedded import free_port
from headline_dedup.engine import engine_for
from headline_dedup.instance import URL_FILE
from headline_dedup.state.records import Status, Totals
from headline_dedup.store import NewHeadline, export_rows, get_cluster, iso, statuses

BATCH = 20  # headlines per POST
POLL = 0.1  # seconds between status polls: the resolution of the latency figures
SHIFT = 14 * 86400  # each replay of the data two weeks after the last, so it is a fresh stream


def _up(folder: Path, port: int) -> procs.Proc:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("HEADLINES_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    log = (folder / "up.log").open("ab")
    return procs.python("headline_dedup.cli", "up", "--port", str(port), "--workers", "2", cwd=folder, env=env,
                        stdout=log, stderr=log, own_session=True)


class Feed:
    """POSTs batches at a set rate; a 503 or a dropped connection is retried with the same ids."""

    def __init__(self, base: str, rows: list[NewHeadline]) -> None:
        self.base, self.rows = base, rows
        self.accepted: dict[str, float] = {}
        self.lock = threading.Lock()
        self.retries = 0
        self.stop = threading.Event()
        self.round = 0

    def batches(self):
        while True:
            for start in range(0, len(self.rows), BATCH):
                yield [replace(h, id=f"s{self.round}-{h.id}", published=h.published + self.round * SHIFT)
                       for h in self.rows[start:start + BATCH]]
            self.round += 1

    def send(self, client: httpx.Client, batch: list[NewHeadline]) -> None:
        body = {"headlines": [{"id": h.id, "title": h.title, "source": h.source,
                               "published_at": iso(h.published)} for h in batch]}
        while not self.stop.is_set():
            try:
                answer = client.post("/headlines", json=body, timeout=10)
                if answer.status_code == 202:
                    now = time.monotonic()
                    with self.lock:
                        self.accepted.update((h.id, now) for h in batch)
                    return
                if answer.status_code < 500:
                    raise RuntimeError(f"feed refused: {answer.status_code} {answer.text[:200]}")
            except httpx.HTTPError:
                pass
            self.retries += 1
            time.sleep(0.2)

    def run(self, rate: float, seconds: float) -> None:
        every = BATCH / rate
        began = time.monotonic()
        with httpx.Client(base_url=self.base) as client:
            for n, batch in enumerate(self.batches()):
                due = began + n * every
                if due - began > seconds or self.stop.is_set():
                    return
                time.sleep(max(0.0, due - time.monotonic()))
                self.send(client, batch)


def _redis(folder: Path) -> redis.Redis:
    url = (folder / ".headlines" / URL_FILE).read_text().strip()
    return redis.Redis.from_url(url, socket_timeout=5)


ENGINE = engine_for(build_settings({"redis_url": "redis://unused"}))


def _placed(r: redis.Redis, feed: Feed, latencies: dict[str, float], stop: threading.Event) -> None:
    while not stop.is_set():
        with feed.lock:
            pending = [hid for hid in feed.accepted if hid not in latencies]
        try:
            found = statuses(r, ENGINE, pending)
            now = time.monotonic()
            for hid, st in zip(pending, found, strict=True):
                if st is Status.DONE:
                    latencies[hid] = now - feed.accepted[hid]
        except redis.RedisError:
            pass  # Redis is being restarted: poll again
        stop.wait(POLL)


def capacity(base: str, r: redis.Redis, rows: list[NewHeadline]) -> tuple[float, list[str]]:
    """Headlines placed per second when a few thousand arrive at once (batches of 500)."""
    calib = [replace(h, id=f"c-{h.id}", published=h.published - 30 * SHIFT) for h in rows[:3000]]
    began = time.monotonic()
    with httpx.Client(base_url=base, timeout=30) as client:
        for start in range(0, len(calib), 500):
            client.post("/headlines", json={"headlines": [
                {"id": h.id, "title": h.title, "source": h.source, "published_at": iso(h.published)}
                for h in calib[start:start + 500]]}).raise_for_status()
    while int(r.hget(ENGINE.keys.stats, Totals.DONE) or 0) < len(calib):
        time.sleep(0.05)
    return len(calib) / (time.monotonic() - began), [h.id for h in calib]


def exactly_once(r: redis.Redis, accepted: list[str]) -> str:
    """'ok', or what is wrong: every accepted id stored once, done, in exactly one members list once."""
    engine = ENGINE
    ids = Counter(x.decode() for x in r.lrange(engine.keys.ids, 0, -1))
    rows = {hid: (cid, st) for hid, cid, _, st in export_rows(r, engine)}
    problems = []
    twice = [hid for hid, n in ids.items() if n > 1]
    missing = [hid for hid in accepted if hid not in ids]
    undone = [hid for hid in accepted if rows.get(hid, ("", ""))[1] != Status.DONE.label or not rows[hid][0]]
    members: Counter[str] = Counter()
    for cid in {cid for cid, _ in rows.values() if cid}:
        view = get_cluster(r, engine, cid, limit=1_000_000)
        if view["size"] != len(view["headlines"]):
            problems.append(f"cluster {cid} size {view['size']} != {len(view['headlines'])} members")
        members.update(h["id"] for h in view["headlines"])
    extra = [hid for hid, n in members.items() if n != 1]
    unplaced = [hid for hid in accepted if members[hid] != 1]
    done = int(r.hget(engine.keys.stats, Totals.DONE) or 0)
    for name, found in (("stored twice", twice), ("accepted but not stored", missing), ("not done", undone),
                        ("in more than one story", extra), ("in no story", unplaced)):
        if found:
            problems.append(f"{len(found)} {name} (e.g. {found[:3]})")
    if done != len(ids):
        problems.append(f"done counter {done} != {len(ids)} stored")
    return "ok" if not problems else "; ".join(problems)


def run(folder: Path, rows: list[NewHeadline], minutes: float) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with procs.Children(grace=15) as children:
        up = children.add(_up(folder, port))
        deadline = time.monotonic() + 120
        while not _answers(base):
            if up.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"headlines up did not start; see {folder / 'up.log'}")
            time.sleep(0.2)
        r = _redis(folder)
        cap, calibrated = capacity(base, r, rows)
        rate = cap / 2
        feed, stop = Feed(base, rows), threading.Event()
        latencies: dict[str, float] = {}
        poller = threading.Thread(target=_placed, args=(r, feed, latencies, stop), daemon=True)
        poller.start()
        seconds = minutes * 60
        feeder = threading.Thread(target=feed.run, args=(rate, seconds), daemon=True)
        began = time.monotonic()
        feeder.start()
        events = _break_things(r, folder, began, seconds, feeder)
        feeder.join()
        settle = time.monotonic() + 300
        while len(latencies) < len(feed.accepted) and time.monotonic() < settle:
            time.sleep(0.5)
        stop.set()
        poller.join()
        # The calibration's headlines are accepted ones too.
        verdict = exactly_once(_redis(folder), [*calibrated, *feed.accepted])
    values = sorted(latencies.values())
    cuts = statistics.quantiles(values, n=100) if len(values) > 1 else [0.0] * 99
    return {"minutes": minutes, "capacity": cap, "rate": rate, "accepted": len(feed.accepted),
            "placed": len(values), "retries": feed.retries, "events": events, "exactly_once": verdict,
            "p50_s": cuts[49], "p99_s": cuts[98], "max_s": values[-1] if values else 0.0}


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _break_things(r: redis.Redis, folder: Path, began: float, seconds: float,
                  feeder: threading.Thread) -> list[str]:
    """A worker SIGKILLed every minute, the Redis server SIGKILLed once half way."""
    events: list[str] = []
    next_kill, redis_killed = began + 60, False
    while feeder.is_alive():
        now = time.monotonic()
        if not redis_killed and now - began >= seconds / 2:
            pid = int(_redis(folder).info("server")["process_id"])
            os.kill(pid, signal.SIGKILL)
            events.append(f"{now - began:.0f}s: Redis (pid {pid}) killed")
            redis_killed = True
        if now >= next_kill:
            next_kill += 60
            try:
                victim = next(iter(sorted(Worker.all(connection=_redis(folder)), key=lambda w: w.name)), None)
            except redis.RedisError:
                victim = None
            if victim is not None and victim.pid:
                os.kill(victim.pid, signal.SIGKILL)
                events.append(f"{now - began:.0f}s: worker {victim.pid} killed")
        time.sleep(0.2)
    return events


def render(res: dict) -> str:
    lines = [f"## Soak: {res['minutes']:g} minutes", "",
             f"- capacity measured first: {res['capacity']:.0f} headlines/s placed; feed at {res['rate']:.0f}/s "
             f"in POSTs of {BATCH}",
             f"- accepted {res['accepted']:,}, placed {res['placed']:,}; {res['retries']} POSTs retried (503 or "
             "dropped connection, same ids)",
             f"- placement latency (202 to done, polled every {POLL}s): p50 {res['p50_s']:.2f}s, "
             f"p99 {res['p99_s']:.2f}s, max {res['max_s']:.2f}s",
             f"- exactly once (every accepted headline stored once, done, in one story once): {res['exactly_once']}",
             "- events: " + "; ".join(res["events"])]
    return "\n".join(lines) + "\n"
