"""Placement throughput by partitions and workers: `python -m bench.partitions [--data FILE] [--limit N]`.

For each number of partitions (1, 2, 4: `partition_by: field`, each headline's partition a hash of its
id) and of workers (1, 2, 4), on a Redis of its own: the whole stream is stored and enqueued first, then
the workers start, and the rate is headlines from the first placed to the last placed. Also the cost
of `partition_by: language` per headline (py3langid, in this process), and Redis memory per stored
headline. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from bench.data import find_data, load
from bench.procs import open_bench, start_workers
from bench.watch import Progress, wait_until_done
from headline_dedup import procs as children
from headline_dedup.config import build_settings
from headline_dedup.engine import Engine
from headline_dedup.queue import enqueue_ids
from headline_dedup.store import NewHeadline, submit

PARTITIONS = (1, 2, 4)
WORKERS = (1, 2, 4)


def spread(rows: list[NewHeadline], partitions: int) -> list[NewHeadline]:
    def name(hid: str) -> str:
        return f"p{int.from_bytes(hashlib.blake2b(hid.encode(), digest_size=4).digest(), 'big') % partitions}"

    return [replace(h, partition=name(h.id)) for h in rows]


def one_run(rows: list[NewHeadline], partitions: int, workers: int) -> dict[str, float]:
    with ExitStack() as stack:
        bench = open_bench(stack)
        bench.env["HEADLINES_PARTITION_BY"] = "field"
        settings = build_settings({"redis_url": bench.url, "partition_by": "field"})
        engine = Engine(settings)
        r = bench.redis
        base = int(r.info("memory")["used_memory"])
        stream = spread(rows, partitions)
        for start in range(0, len(stream), 5000):
            chunk = stream[start : start + 5000]
            new = submit(r, engine, chunk)
            part = {h.id: h.partition for h in chunk}
            enqueue_ids(r, engine, new, [part[hid] for hid in new])
        with Progress(r, every=0.005) as progress:
            procs = start_workers(bench, workers, settings.queue_name)
            wait_until_done(r, len(rows), timeout=1200)
            finished = time.perf_counter()  # the sampler may stop before it sees the last one placed
        used = int(r.info("memory")["used_memory"])
        children.stop(procs)
    first = next(t for t, _, done in progress.samples if done > 0)
    last = next((t for t, _, done in progress.samples if done >= len(rows)), finished)
    return {"rate": len(rows) / (last - first), "bytes": (used - base) / len(rows)}


def language_cost(rows: list[NewHeadline], n: int = 5000) -> float:
    from headline_dedup.language import detect

    detect("warm up the model")
    titles = [h.title for h in rows[:n]]
    start = time.perf_counter()
    for t in titles:
        detect(t)
    return (time.perf_counter() - start) / len(titles) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    rows = load(find_data(args.data), args.limit)
    print(f"{len(rows)} headlines; language detection {language_cost(rows):.0f} µs a headline")
    print("| partitions | workers | placed/s | Redis bytes per headline |\n|---:|---:|---:|---:|")
    for partitions in PARTITIONS:
        for workers in WORKERS:
            run = one_run(rows, partitions, workers)
            print(f"| {partitions} | {workers} | {run['rate']:.0f} | {run['bytes']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
