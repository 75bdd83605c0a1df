"""Placement throughput by partitions and workers: `python -m bench.partitions [--data FILE] [--limit N]`.

For each number of partitions (1, 2, 4: `partition_by: field`, each headline's partition a hash of its
id) and of workers (1, 2, 4), on a Redis of its own: the whole stream is stored and enqueued first, then
the workers start, and the rate is headlines from the first placed to the last placed. Also the cost
of `partition_by: language` per headline (py3langid, in this process), Redis memory per stored
headline, and the mean time a prepared batch waited for its turn and its partition's lock (the metrics
hash, read through service/state/metrics). With `--cluster` the state is on a 3-node Redis Cluster
started for each run (the queue on a plain Redis beside it), and each node's share of the keys is shown.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import headline_dedup.state.metrics as metrics
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


def one_run(rows: list[NewHeadline], partitions: int, workers: int, cluster: bool = False) -> dict[str, object]:
    with ExitStack() as stack:
        bench = open_bench(stack, cluster)
        bench.env["HEADLINES_PARTITION_BY"] = "field"
        overrides: dict[str, object] = {"redis_url": bench.url, "partition_by": "field"}
        if cluster:
            overrides.update(redis_cluster=True, queue_url=bench.queue_url)
        settings = build_settings(overrides)
        engine = Engine(settings)
        r = bench.redis
        base = metrics.used_memory(r)
        stream = spread(rows, partitions)
        for start in range(0, len(stream), 5000):
            chunk = stream[start : start + 5000]
            new = submit(r, engine, chunk)
            part = {h.id: h.partition for h in chunk}
            enqueue_ids(r, engine, new, [part[hid] for hid in new])
        with Progress(r, every=0.005, keys=engine.keys) as progress:
            procs = start_workers(bench, workers, settings.queue_name)
            wait_until_done(r, len(rows), timeout=1200, keys=engine.keys)
            finished = time.perf_counter()  # the sampler may stop before it sees the last one placed
        children.stop(procs)  # stopped first: each records its last batch's figures before it ends
        used = metrics.used_memory(r)
        wait = metrics.read(r, engine.keys, 0).histograms[metrics.LOCK_WAIT.name]
        nodes = bench.cluster.keys_per_node() if bench.cluster else {}
    first = next(t for t, _, done in progress.samples if done > 0)
    last = next((t for t, _, done in progress.samples if done >= len(rows)), finished)
    total_keys = sum(nodes.values()) or 1
    return {"rate": len(rows) / (last - first), "bytes": (used - base) / len(rows),
            "lock_wait_ms": 1000 * wait.sum / max(wait.count, 1), "batches": wait.count,
            "nodes": " / ".join(f"{100 * n / total_keys:.0f}%" for n in nodes.values()) or "-"}


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
    parser.add_argument("--cluster", action="store_true",
                        help="the state on a 3-node Redis Cluster of its own (the queue on a plain Redis)")
    parser.add_argument("--partitions", type=int, nargs="+", default=list(PARTITIONS))
    parser.add_argument("--workers", type=int, nargs="+", default=list(WORKERS))
    args = parser.parse_args()
    rows = load(find_data(args.data), args.limit)
    where = "a 3-node Redis Cluster" if args.cluster else "one Redis"
    print(f"{len(rows)} headlines on {where}; language detection {language_cost(rows):.0f} µs a headline")
    print("| partitions | workers | placed/s | Redis bytes per headline | lock wait per batch (ms) | batches "
          "| keys per node |\n|---:|---:|---:|---:|---:|---:|---|")
    for partitions in args.partitions:
        for workers in args.workers:
            run = one_run(rows, partitions, workers, args.cluster)
            print(f"| {partitions} | {workers} | {run['rate']:.0f} | {run['bytes']:.0f} | {run['lock_wait_ms']:.1f} "
                  f"| {run['batches']} | {run['nodes']} |", flush=True)


if __name__ == "__main__":
    main()
