"""`python -m bench`: every measurement in one run, against a Redis of its own; writes bench/report.md."""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from bench import data, floor, http, ingest, memory, naive_run, profile, report, soak
from bench.procs import ROOT, Bench, open_bench
from headline_dedup.config import build_settings
from headline_dedup.engine import engine_for
from headline_dedup.store import NewHeadline, submit

STEPS = ("floor", "ingest", "http", "naive", "cost")
REPORT = Path(__file__).resolve().parent / "report.md"


@dataclass(frozen=True)
class Sizes:
    ingest: int | None  # None: the whole file
    naive: int  # warm workers
    naive_cold: int  # plain `rq worker`: about a second per job, so few
    lookups: int
    posts: int
    cost: int
    cost_points: int  # window-state samples: many, because the state saws up and down each day


FULL = Sizes(ingest=None, naive=2000, naive_cold=40, lookups=5000, posts=5000, cost=400_000, cost_points=40)
QUICK = Sizes(ingest=3000, naive=200, naive_cold=10, lookups=1000, posts=500, cost=30_000, cost_points=10)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--data", type=Path, default=None, help="headlines CSV (default ../shared/data/dev.csv)")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.add_argument("--skip", action="append", choices=STEPS, default=[], help="skip a step (repeatable)")
    p.add_argument("--workers", type=int, default=2, help="RQ workers (default 2)")
    p.add_argument("--profile", type=Path, default=None,
                   help="py-spy one worker during the ingest, raw samples to this file")
    p.add_argument("--output", type=Path, default=None,
                   help="where the report goes (default bench/report.md, with --soak bench/soak.md)")
    p.add_argument("--soak", type=float, default=None, metavar="MINUTES",
                   help="only the soak: `headlines up` under a steady feed, workers and Redis killed, then the "
                        "exactly-once check and placement latency")
    return p.parse_args(argv)


def _stop_on_sigterm() -> None:
    def handler(*_: object) -> NoReturn:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def ensure_stored(bench: Bench, rows: list[NewHeadline]) -> None:
    """GETs need headlines to read: when the ingest step was skipped, store some (queued is enough)."""
    if not bench.redis.llen("hd:ids"):
        submit(bench.redis, engine_for(build_settings({"redis_url": bench.url})), rows[:5000])


def run(args: argparse.Namespace) -> dict:
    sizes = QUICK if args.quick else FULL
    path = data.find_data(args.data)
    rows = data.load(path)
    res: dict = {"workers": args.workers, "notes": [f"data: {path} ({len(rows):,} headlines)", _revision()]}
    steps = [s for s in STEPS if s not in args.skip]
    if "floor" in steps:
        res["floor"] = floor.measure([h.title for h in rows])
    with ExitStack() as stack:
        bench = open_bench(stack)
        res["machine"] = _machine(bench)
        if "ingest" in steps:
            csv_path = data.write_csv(rows[: sizes.ingest], bench.tmp / "ingest.csv") if args.quick else path
            res["ingest"] = ingest.measure(bench, csv_path, args.workers, args.profile)
            if args.profile and args.profile.is_file():
                res["profile"] = profile.top(args.profile)
        if "http" in steps:
            ensure_stored(bench, rows)
            ids = [h.id for h in rows[:5000]]
            posts = [replace(h, id=f"post-{h.id}", published=h.published + memory.SHIFT)
                     for h in rows[: sizes.posts]]
            res["http"] = http.measure(bench, ids, posts, sizes.lookups, args.workers)
        if "naive" in steps:
            res["naive"] = naive_run.measure(bench, rows[: sizes.naive], args.workers, warm=True)
            res["naive_cold"] = naive_run.measure(bench, rows[: sizes.naive_cold], args.workers, warm=False)
        if "cost" in steps:
            res["cost"] = memory.measure(bench, rows, sizes.cost, args.workers, sizes.cost_points)
    return res


def _revision() -> str:
    """Which code was measured: the commit, and any uncommitted changes to the service."""
    def git(*cmd: str) -> str:
        return subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, check=False).stdout

    dirty = git("status", "--porcelain", "--", "service", "workers").splitlines()
    changed = f" + uncommitted changes to {', '.join(line[3:] for line in dirty)}" if dirty else ""
    return f"code: {git('rev-parse', '--short', 'HEAD').strip()}{changed}"


def _machine(bench: Bench) -> str:
    server = bench.redis.info("server")
    name = "valkey" if "valkey_version" in server else "redis"
    version = server.get("valkey_version") or server.get("redis_version")
    return (f"{platform.node()}: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, {name} {version}; everything on 127.0.0.1.")


def run_soak(args: argparse.Namespace) -> int:
    rows = data.load(data.find_data(args.data))
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="headlines-soak-") as folder:
        res = soak.run(Path(folder), rows, args.soak)
    text = soak.render(res) + (f"\n{_revision()}; {platform.node()}, {os.cpu_count()} CPUs; load average (1 min) "
                               f"{load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end; "
                               f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}\n")
    output = args.output or REPORT.with_name("soak.md")
    output.write_text(text)
    print(text)
    return 0 if res["exactly_once"] == "ok" else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _stop_on_sigterm()
    if args.soak is not None:
        return run_soak(args)
    args.output = args.output or REPORT
    load_before = os.getloadavg()[0]
    res = run(args)
    # Other work on the machine takes CPU from the service: say how busy it was.
    res["notes"].append(f"load average (1 min) at start {load_before:.1f}, at end {os.getloadavg()[0]:.1f}, "
                        f"on {os.cpu_count()} CPUs")
    res["when"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC") + (" (--quick)" if args.quick else "")
    text = report.render(res)
    args.output.write_text(text)
    print(text)
    print(f"written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
