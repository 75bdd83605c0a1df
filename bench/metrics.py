"""The cost of a /metrics scrape: `python -m bench.metrics [--data FILE] [--limit N] [--scrapes N]`.

The headlines (dev.csv by default) are stored and placed by real workers, so the figures and the Redis
behind them are those of a working service. The API (two processes, as `headlines up` runs it) is
scraped sequentially over one keep-alive connection, as Prometheus does: back to back while the workers
place the stream, then `--scrapes` times once everything is placed. Target (issue 14): a scrape takes at
most 50 ms. Prints p50, p99 and the answer's size of each.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx

from bench.data import find_data, load
from bench.procs import open_bench, start_api, start_workers, stop_all
from bench.watch import done_count
from headline_dedup.config import build_settings
from headline_dedup.engine import Engine
from headline_dedup.queue import enqueue_ids
from headline_dedup.store import submit

TARGET_MS = 50.0
WARM = 20  # scrapes before timing: the connection, the API's first request, the script cache


def scrape_times(client: httpx.Client, count: int | None, until: Callable[[], bool] = lambda: False,
                 ) -> tuple[list[float], int]:
    """Seconds per scrape (`count` of them, or as many as fit before `until()`), and the last answer's size."""
    times: list[float] = []
    size = 0
    while (len(times) < count) if count is not None else not until():
        start = time.perf_counter()
        answer = client.get("/metrics")
        answer.raise_for_status()
        times.append(time.perf_counter() - start)
        size = len(answer.content)
    return times, size


def summary(what: str, times: list[float], size: int) -> str:
    cuts = statistics.quantiles(times, n=100)
    p50, p99 = 1000 * cuts[49], 1000 * cuts[98]
    verdict = "ok" if p99 <= TARGET_MS else f"over the {TARGET_MS:.0f} ms target"
    return f"{what}: {len(times)} scrapes of {size} bytes, p50 {p50:.1f} ms, p99 {p99:.1f} ms ({verdict})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="headlines CSV (default ../shared/data/dev.csv)")
    parser.add_argument("--limit", type=int, default=None, help="store only the first N headlines")
    parser.add_argument("--scrapes", type=int, default=200, help="timed scrapes (default 200)")
    parser.add_argument("--workers", type=int, default=2, help="RQ workers placing the data (default 2)")
    args = parser.parse_args()
    rows = load(find_data(args.data), args.limit)
    with ExitStack() as stack:
        bench = open_bench(stack)
        engine = Engine(build_settings({"redis_url": bench.url}))
        for start in range(0, len(rows), 5000):
            enqueue_ids(bench.redis, engine, submit(bench.redis, engine, rows[start : start + 5000]))
        base, _ = start_api(bench)
        client = stack.enter_context(httpx.Client(base_url=base, timeout=10))
        scrape_times(client, WARM)
        # While the workers place the stream: the Redis the scrape reads is busy with batch scripts.
        workers = start_workers(bench, args.workers, engine.settings.queue_name)
        busy = scrape_times(client, None, until=lambda: done_count(bench.redis) >= len(rows))
        stop_all(workers)
        rest = scrape_times(client, args.scrapes)
    print(f"{len(rows)} headlines stored and placed")
    print(summary("at rest, everything placed", *rest))
    print(summary(f"while {args.workers} workers placed them", *busy))

if __name__ == "__main__":
    main()
