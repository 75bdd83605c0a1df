"""Small builders shared by the tests: the one module tests import from (not conftest, not each other)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TypeVar

import httpx
import pytest
import redis
from rq import SimpleWorker

from headline_dedup import procs
from headline_dedup.embedded import EmbeddedRedis, free_port
from headline_dedup.engine import Engine
from headline_dedup.pipeline import process_batch
from headline_dedup.queue import get_queue
from headline_dedup.store import NewHeadline, get_headline, submit

ROOT = Path(__file__).resolve().parent.parent
# Runs a test on one Redis and on a 3-node Redis Cluster (the `backend` fixture of tests/conftest.py).
BOTH = pytest.mark.parametrize("backend", ["one", "cluster"], indirect=True)
SAMPLE = ROOT / "service" / "sample" / "headlines.csv"

T = TypeVar("T")
DAY = datetime.fromisoformat("2014-03-24T12:00:00+00:00").timestamp()

FED = "Fed\u2019s Dovish Tone Sends Dollar Lower as Markets Price In More Rate Cuts"
UNRELATED = [
    "Air Force One Delivery Delayed to 2028 as Boeing Faces Rising Costs",
    "Hong Kong Democratic Party Disbands After Member Vote Amid Security Crackdown",
    "Belarus Frees Opposition Leaders Maria Kalesnikava and Viktar Babaryka in U.S.-Brokered Deal",
    "Japan Business Sentiment Hits Four-Year High, Boosting Expectations of BOJ Rate Hike",
]


def headline(hid: str, title: str, published: float = DAY, source: str = "") -> NewHeadline:
    return NewHeadline(hid, title, source, published)


def place(r: redis.Redis, engine: Engine, headlines: list[NewHeadline]) -> list[dict]:
    """Submit and process in this process (no queue); returns each headline as read back."""
    ids = submit(r, engine, headlines)
    process_batch(r, engine, ids)
    return [get_headline(r, engine, h.id) for h in headlines]


def load_sample(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def drain(r: redis.Redis, engine: Engine) -> None:
    """Run every queued job to the end in this process (an RQ SimpleWorker in burst mode)."""
    queue = get_queue(r, engine)  # on a cluster, the queue is on a plain Redis of its own
    SimpleWorker([queue], connection=queue.connection).work(burst=True, logging_level="WARNING")


def run_workers(redis_url: str, n: int) -> None:
    """n real worker processes in burst mode; each must exit cleanly once the queue is empty."""
    env = {**os.environ, "REDIS_URL": redis_url}
    with procs.Children() as children:
        for _ in range(n):
            children.add(procs.python("headline_dedup.workers", "--burst", env=env))
        for p in children.procs:
            assert p.wait(timeout=240) == 0


def wait_until(check: Callable[[], T], timeout: float, what: str | Callable[[], str], every: float = 0.1) -> T:
    """check()'s first truthy value; an AssertionError naming `what` if none comes within timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what() if callable(what) else what}")


class Output:
    """A child process's stdout and stderr, collected line by line in a thread, to wait on what it says."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None, "start the process with stdout=PIPE, stderr=STDOUT, text=True"
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float) -> None:
        wait_until(lambda: any(text in line for line in self.lines), timeout, f"{text!r} in the output")


class Hold:
    """Holds the first batch a worker prepares until released (tests/hooks/sitecustomize.py)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def env(self, env: dict[str, str]) -> dict[str, str]:
        """`env` for a child process whose worker jobs the hold applies to."""
        path = os.pathsep.join(p for p in (str(ROOT / "tests" / "hooks"), env.get("PYTHONPATH")) if p)
        return {**env, "PYTHONPATH": path, "HD_TEST_HOLD": str(self.folder)}

    def wait_held(self, timeout: float) -> tuple[int, list[str]]:
        """The pid of the worker holding a batch, and the batch's ids, once one is held."""
        held = self.folder / "held"
        wait_until(held.exists, timeout, "a worker to hold a batch mid-way")
        pid, *ids = held.read_text().splitlines()
        return int(pid), ids

    def release(self) -> None:
        (self.folder / "release").touch()


def api_answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Service:
    """A running `headlines up`: its API's base URL, the environment its CLI runs with, its Redis."""

    base: str
    env: dict[str, str]
    redis_url: str


@contextlib.contextmanager
def headlines_up(folder: Path, settings: dict[str, str]) -> Iterator[Service]:
    """`headlines up` (1 worker, 1 API process) in folder, on an embedded Redis of its own, with these
    HEADLINES_ variables and none of the caller's; stopped, with its Redis, after."""
    server = EmbeddedRedis(folder / "redis", persist=False).start()
    try:
        port = free_port()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("HEADLINES_")},
               "REDIS_URL": server.url, **settings}
        up = procs.python("headline_dedup.cli", "up", "--port", str(port), "--workers", "1", "--api-workers", "1",
                          cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output = Output(up)
        try:
            wait_until(lambda: up.poll() is not None or api_answers(port), 90, "the API")
            assert up.poll() is None, "".join(output.lines)
            yield Service(f"http://127.0.0.1:{port}", env, server.url)
        finally:
            procs.stop(up)
    finally:
        server.stop()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "headline_dedup.cli", *args], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def run_split(state_url: str, queue_url: str) -> dict:
    """Ingest the sample with the queue elsewhere, let a real worker place it; the stats read back."""
    env = {**os.environ, "REDIS_URL": state_url, "HEADLINES_QUEUE_URL": queue_url}
    cli(env, "ingest", str(SAMPLE))
    queue = redis.Redis.from_url(queue_url)
    assert queue.llen("rq:queue:headlines") > 0, "the jobs are not on the queue Redis"
    worker = subprocess.run([sys.executable, "-m", "headline_dedup.workers", "--burst"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    out = cli(env, "stats", "--json").stdout
    return dict(json.loads(out[out.index("{"):]))


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """A /metrics answer parsed with prometheus_client's parser: (sample name, sorted labels) -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


CHROMIUM = ("chromium", "chromium-browser")
CHROMEDRIVER = "chromedriver"


def chrome_driver():  # -> selenium.webdriver.Chrome; untyped so that importing helpers needs no selenium
    """A headless Chromium driven by selenium, from Debian's chromium and chromium-driver; skips the test,
    saying why, where either (or selenium) is missing."""
    import shutil

    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
    from selenium.webdriver.chrome.service import Service

    browser = next((p for p in map(shutil.which, CHROMIUM) if p), None)
    driver = shutil.which(CHROMEDRIVER)
    if browser is None or driver is None:
        pytest.skip("Chromium is not installed: apt-get install -y chromium chromium-driver (.ci/run does it as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)
