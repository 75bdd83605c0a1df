"""`python -m bench --soak MINUTES`: `headlines up` under a steady feed while things break.

A feed at about half the measured capacity goes through the HTTP API of a real `headlines up` (embedded
Redis with its append-only file, 2 workers). The capacity is measured the way the feed sends: POSTs of
BATCH from SENDERS concurrent clients, as fast as they go, until every headline is placed. The feed then
keeps its schedule with the same SENDERS (batch n is due at n * BATCH / rate; a free sender takes the
next due batch) and runs for MINUTES of wall-clock time, however far behind it falls (the achieved rate
is reported). Every minute one worker is killed with SIGKILL; half way through the run the Redis server
itself is killed (SIGKILL; `up` restarts it from its append-only file, and the time until it answers
again is reported). At the end every accepted headline must be in exactly one story, once, and the
placement latency (202 to `done`, seen by polling every POLL seconds) is reported as p50/p99/max.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import threading
import time
from collections import Counter
from dataclasses import replace
from itertools import islice
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
SENDERS = 4  # concurrent HTTP clients, for the capacity step and the feed alike
POLL = 0.1  # seconds between status polls: the resolution of the latency figures
OLDEST = 1000  # pending ids a poll looks at, the oldest first: headlines are placed about in arrival order,
# and polling every pending id of a backlog would load the very Redis and CPUs that place them
CALIBRATE = 10_000  # headlines the capacity step sends
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
        self.pending: dict[str, float] = {}  # accepted, not yet seen done: in arrival order
        self.lock = threading.Lock()
        self.retries = 0
        self.stop = threading.Event()
        self.round = 0
        self.lag = 0.0  # the furthest a batch was sent behind its due time, in seconds
        self.began = self.ended = 0.0

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
                        self.pending.update((h.id, now) for h in batch)
                    return
                if answer.status_code < 500:
                    raise RuntimeError(f"feed refused: {answer.status_code} {answer.text[:200]}")
            except httpx.HTTPError:
                pass
            self.retries += 1
            time.sleep(0.2)

    def run(self, rate: float, seconds: float) -> None:
        """Keep the schedule with SENDERS clients for `seconds` of wall-clock time."""
        every = BATCH / rate
        self.began = time.monotonic()
        schedule = enumerate(self.batches())
        take = threading.Lock()

        def sender() -> None:
            with httpx.Client(base_url=self.base) as client:
                while not self.stop.is_set():
                    with take:
                        n, batch = next(schedule)
                    due = self.began + n * every
                    if due - self.began > seconds:
                        return
                    wait = due - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    elif -wait > self.lag:
                        self.lag = -wait
                    if time.monotonic() - self.began > seconds:
                        return
                    self.send(client, batch)

        threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.ended = time.monotonic()


def _redis(folder: Path) -> redis.Redis:
    url = (folder / ".headlines" / URL_FILE).read_text().strip()
    return redis.Redis.from_url(url, socket_timeout=5)


ENGINE = engine_for(build_settings({"redis_url": "redis://unused"}))


def _placed(r: redis.Redis, feed: Feed, latencies: dict[str, float], stop: threading.Event) -> None:
    while not stop.is_set():
        with feed.lock:
            pending = list(islice(feed.pending.items(), OLDEST))
        try:
            found = statuses(r, ENGINE, [hid for hid, _ in pending])
        except redis.RedisError:
            found = []  # Redis is being restarted: poll again
        now = time.monotonic()
        done = [(hid, at) for (hid, at), st in zip(pending, found, strict=False) if st is Status.DONE]
        with feed.lock:
            for hid, at in done:
                latencies[hid] = now - at
                del feed.pending[hid]
        stop.wait(POLL)


def _backlog(feed: Feed, began: float, stop: threading.Event, samples: list[str]) -> None:
    """Accepted but not yet seen placed, every 30 s: where the latency figures come from."""
    while not stop.wait(30):
        with feed.lock:
            samples.append(f"{time.monotonic() - began:.0f}s: {len(feed.pending):,}")


def capacity(base: str, r: redis.Redis, rows: list[NewHeadline]) -> tuple[float, list[str]]:
    """Headlines placed per second when CALIBRATE are sent as the feed sends them (POSTs of BATCH from
    SENDERS clients), as fast as they go: from the first POST until the last is placed."""
    calib = [replace(h, id=f"c-{h.id}", published=h.published - 30 * SHIFT) for h in rows[:CALIBRATE]]
    chunks = iter(range(0, len(calib), BATCH))
    take = threading.Lock()
    done_before = int(r.hget(ENGINE.keys.stats, Totals.DONE) or 0)

    def sender() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            while True:
                with take:
                    start = next(chunks, None)
                if start is None:
                    return
                client.post("/headlines", json={"headlines": [
                    {"id": h.id, "title": h.title, "source": h.source, "published_at": iso(h.published)}
                    for h in calib[start:start + BATCH]]}).raise_for_status()

    began = time.monotonic()
    threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while int(r.hget(ENGINE.keys.stats, Totals.DONE) or 0) - done_before < len(calib):
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
        backlog: list[str] = []
        seconds = minutes * 60
        feeder = threading.Thread(target=feed.run, args=(rate, seconds), daemon=True)
        began = time.monotonic()
        feeder.start()
        threading.Thread(target=_backlog, args=(feed, began, stop, backlog), daemon=True).start()
        events = _break_things(folder, began, seconds, feeder)
        feeder.join()
        fed_for = feed.ended - feed.began
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
            "fed_for": fed_for, "achieved": len(feed.accepted) / fed_for if fed_for else 0.0, "lag": feed.lag,
            "placed": len(values), "retries": feed.retries, "events": events, "exactly_once": verdict,
            "backlog": backlog,
            "p50_s": cuts[49], "p99_s": cuts[98], "max_s": values[-1] if values else 0.0}


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _break_things(folder: Path, began: float, seconds: float, feeder: threading.Thread) -> list[str]:
    """A worker SIGKILLed every minute, the Redis server SIGKILLed once half way through the run."""
    events: list[str] = []
    next_kill, redis_killed = began + 60, False
    while feeder.is_alive():
        now = time.monotonic()
        if not redis_killed and now - began >= seconds / 2:
            redis_killed = True
            events.append(_kill_redis(folder, now - began))
        if now >= next_kill and now - began < seconds:
            try:  # Redis may be restarting: then the next turn tries again
                victim = next(iter(sorted(Worker.all(connection=_redis(folder)), key=lambda w: w.name)), None)
            except (redis.RedisError, OSError):
                victim = None
            if victim is not None and victim.pid:
                next_kill += 60
                with contextlib.suppress(ProcessLookupError):  # a worker that just died and is not yet gone
                    os.kill(victim.pid, signal.SIGKILL)
                    events.append(f"{now - began:.0f}s: worker {victim.pid} killed")
        time.sleep(0.2)
    return events


def _kill_redis(folder: Path, at: float) -> str:
    """SIGKILL the embedded Redis; say how long until a restarted one answers, and until it has loaded its
    append-only file (INFO answers while loading; everything else is refused until then)."""
    pid = int(_redis(folder).info("server")["process_id"])
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    answered = None
    while time.monotonic() - killed < 120:
        try:
            client = redis.Redis.from_url((folder / ".headlines" / URL_FILE).read_text().strip(), socket_timeout=1)
            info = client.info()
            if int(info["process_id"]) != pid:
                answered = answered or time.monotonic() - killed
                if not int(info.get("loading", 0)):
                    return (f"{at:.0f}s: Redis (pid {pid}) killed, a new one answered {answered:.2f}s later and had "
                            f"loaded its append-only file {time.monotonic() - killed:.2f}s later")
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    return f"{at:.0f}s: Redis (pid {pid}) killed, no new one ready within 120s (answered: {answered})"


def render(res: dict) -> str:
    lines = [f"## Soak: {res['minutes']:g} minutes", "",
             f"- capacity measured first: {res['capacity']:.0f} headlines/s placed; feed at {res['rate']:.0f}/s "
             f"in POSTs of {BATCH} from {SENDERS} senders (capacity measured the same way)",
             f"- fed for {res['fed_for']:.0f}s at {res['achieved']:.0f}/s achieved; furthest behind schedule "
             f"{res['lag']:.2f}s",
             f"- accepted {res['accepted']:,}, placed {res['placed']:,}; {res['retries']} POSTs retried (503 or "
             "dropped connection, same ids)",
             f"- placement latency (202 to done, polled every {POLL}s): p50 {res['p50_s']:.2f}s, "
             f"p99 {res['p99_s']:.2f}s, max {res['max_s']:.2f}s",
             f"- exactly once (every accepted headline stored once, done, in one story once): {res['exactly_once']}",
             "- events: " + "; ".join(res["events"]),
             "- backlog (accepted, not yet seen placed): " + "; ".join(res["backlog"])]
    return "\n".join(lines) + "\n"
