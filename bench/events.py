"""`python -m bench.events`: how soon GET /events delivers a placement after it is written, against a
`headlines up` of its own (embedded Redis, the default workers). Target (issue 14): p99 at most 100 ms.

One subscriber (Client.events(), from the end of the stream) runs in a thread while headlines are
submitted one at a time, each with a title of its own, the next once the last one's `placed` event came.
The delay of each is (time the event was received) - (time the placement was written): the event's
stream id is Redis' clock in milliseconds at the XADD, which is in the same atomic script as the
placement, and Redis runs on this machine, so both ends read the same clock. The id has whole
milliseconds, so a figure may read up to 1 ms high. Submit to event received is given too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time

from bench.client import TITLES
from bench.procs import headlines_up
from headline_dedup import Client


class Subscriber:
    """Reads the stream in a thread: for each placed headline id, when its event came and its write time."""

    def __init__(self, base: str) -> None:
        self.client = Client(base, timeout=30)
        self.got: dict[str, tuple[float, float]] = {}  # id -> (received, written), seconds since the epoch
        self.arrived = threading.Condition()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            for event in self.client.events():
                received = time.time()
                if event.kind != "placed":
                    continue
                with self.arrived:
                    self.got[event.data["id"]] = (received, int(event.id.split("-")[0]) / 1000)
                    self.arrived.notify_all()
        except BaseException as exc:  # reported by wait()
            self.error = exc
            with self.arrived:
                self.arrived.notify_all()

    def wait(self, hid: str, timeout: float = 30) -> tuple[float, float]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: hid in self.got or self.error is not None, timeout):
                raise RuntimeError(f"no placed event for {hid} within {timeout} s")
        if self.error is not None:
            raise RuntimeError(f"the event stream failed: {self.error}") from self.error
        return self.got[hid]


def _cuts(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100)
    return {"p50_ms": 1000 * cuts[49], "p90_ms": 1000 * cuts[89], "p99_ms": 1000 * cuts[98],
            "max_ms": 1000 * max(values)}


def measure(base: str, count: int, warmup: int = 20) -> dict[str, dict[str, float]]:
    subscriber = Subscriber(base)
    subscriber.thread.start()
    time.sleep(1.0)  # the stream is open (it starts at its end: only the events below)
    delays, rounds = [], []
    with Client(base, timeout=30) as client:
        for i in range(count + warmup):
            title = f"{TITLES[i % len(TITLES)]} bulletin {i} qv{i * 7919 % 100003}"
            start = time.time()
            (hid,) = client.submit([{"title": title}])
            received, written = subscriber.wait(hid)
            if i >= warmup:
                delays.append(received - written)
                rounds.append(received - start)
    subscriber.client.close()
    return {"delivery": {"n": len(delays), **_cuts(delays)}, "submit_to_event": _cuts(rounds)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.events", description=__doc__)
    p.add_argument("--count", type=int, default=300, help="placements measured (default 300)")
    p.add_argument("--workers", type=int, default=2, help="workers for `headlines up` (default 2)")
    args = p.parse_args(argv)
    with headlines_up(args.workers, "headlines-bench-events-") as base:
        load = os.getloadavg()[0]
        res = measure(base, args.count)
    d, s = res["delivery"], res["submit_to_event"]
    print(f"/events write->delivery, one placement at a time: n={d['n']:.0f} p50 {d['p50_ms']:.1f} ms, "
          f"p90 {d['p90_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms, max {d['max_ms']:.1f} ms (target p99 <= 100 ms); "
          f"submit->event p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms; "
          f"load average {load:.1f} at start on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
