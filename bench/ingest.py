"""End-to-end ingest: `headlines ingest FILE --wait` against N running workers, and Redis memory per headline.

Timed from the outside (Redis counters sampled every 10 ms) from the first headline stored to the last
one placed, so neither the CLI's start-up nor its 0.25 s progress polling counts.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from bench import profile
from bench.procs import ROOT, Bench, start_workers, stop_all
from bench.watch import Progress


def used_memory(bench: Bench) -> int:
    return int(bench.redis.info("memory")["used_memory"])


def measure(bench: Bench, csv_path: Path, workers: int, profile_to: Path | None = None) -> dict:
    bench.redis.flushall()
    before = used_memory(bench)
    procs = start_workers(bench, workers, "headlines")
    spy = profile.start(bench, procs[0].pid, profile_to) if profile_to else None
    args = [sys.executable, "-m", "headline_dedup.cli", "ingest", str(csv_path), "--wait"]
    with Progress(bench.redis) as progress:
        wall = time.perf_counter()
        result = subprocess.run(args, cwd=ROOT, env={**bench.env, "COLUMNS": "200"}, capture_output=True,
                                text=True, check=False)
        wall = time.perf_counter() - wall
    if spy:
        profile.finish(spy)
    stop_all(procs)
    if result.returncode not in (0, 1):  # 1: some lines were rejected, the rest were placed
        raise RuntimeError(f"headlines ingest failed: {result.stderr[-2000:]}")
    placed, seconds = progress.span()
    after = used_memory(bench)
    return {"n": placed, "seconds": seconds, "rate": placed / seconds, "wall": wall,
            "cli": _cli_summary(result.stderr), "memory_per_headline": (after - before) / placed,
            "memory_bytes": after - before}


def _cli_summary(stderr: str) -> str:
    match = re.search(r"placed \d+ headlines in [\d.]+s \(\d+/s\)", stderr)
    return match.group(0) if match else "(no summary line)"
