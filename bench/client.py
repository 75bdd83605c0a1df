"""`python -m bench.client`: one headline through the Python client, submit() to wait() returning, against a
`headlines up` of its own (embedded Redis, the default workers). Target (issue 14): p50 at most 60 ms.

Sequential, one headline at a time, each with a title of its own (new words: a real placement, not a
resubmitted id), so the figure is the latency a single caller sees: the batcher's flush_ms, the queue, a
worker's placement and the server-side wait's next status read.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from bench.procs import headlines_up
from headline_dedup import Client

TITLES = ["Air Force One Delivery Delayed as Boeing Faces Rising Costs",
          "Japan Business Sentiment Hits Four-Year High", "Belarus Frees Opposition Leaders in Brokered Deal"]


def measure(base: str, count: int, warmup: int = 20) -> dict[str, float]:
    times = []
    with Client(base, timeout=30) as client:
        for i in range(count + warmup):
            title = f"{TITLES[i % len(TITLES)]} report {i} zx{i * 7919 % 100003}"
            start = time.perf_counter()
            (hid,) = client.submit([{"title": title}])
            result = client.wait([hid], timeout=30)[hid]
            elapsed = time.perf_counter() - start
            if result.status != "done":
                raise RuntimeError(f"headline {hid} not placed within 30 s: {result}")
            if i >= warmup:
                times.append(elapsed)
    cuts = statistics.quantiles(times, n=100)
    return {"n": len(times), "p50_ms": 1000 * cuts[49], "p90_ms": 1000 * cuts[89], "p99_ms": 1000 * cuts[98],
            "max_ms": 1000 * max(times)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.client", description=__doc__)
    p.add_argument("--count", type=int, default=300, help="headlines measured (default 300)")
    p.add_argument("--workers", type=int, default=2, help="workers for `headlines up` (default 2)")
    args = p.parse_args(argv)
    with headlines_up(args.workers, "headlines-bench-client-") as base:
        load = os.getloadavg()[0]
        res = measure(base, args.count)
    print(f"client submit->wait, one headline at a time: n={res['n']:.0f} p50 {res['p50_ms']:.1f} ms, "
          f"p90 {res['p90_ms']:.1f} ms, p99 {res['p99_ms']:.1f} ms, max {res['max_ms']:.1f} ms "
          f"(target p50 <= 60 ms); load average {load:.1f} at start on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
