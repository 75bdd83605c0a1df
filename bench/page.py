"""`python -m bench.page`: the story browser's first render in headless Chromium with 1,000 stories stored.
Target (issue 14): at most 1 s.

Starts a `headlines up` of its own (embedded Redis, 2 workers), ingests the sample (service/sample) and then
headlines of made-up words, each a story of its own, until at least --stories stories are stored. Then it
loads GET / in a fresh headless Chromium (Debian's chromium and chromium-driver, through selenium) --runs
times and reads the browser's own Navigation Timing: navigation start to DOMContentLoaded and to load, and
the first contentful paint. The first load is reported apart (nothing cached: the CSS and JS are fetched).

`--screenshot PATH` instead saves a PNG of the front page with only the sample ingested (the README's
picture), and PATH with `-phone` before its suffix at a phone's width.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from headline_dedup import Client, procs
from headline_dedup.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "service" / "sample" / "headlines.csv"
SYLLABLES = ["ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "vu", "ze", "bo", "de", "fi", "gu", "ha", "jo",
             "ke", "li", "mo", "ny"]


def chrome(width: int = 1280, height: int = 1000, phone: bool = False) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        raise SystemExit("needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--no-first-run", "--disable-extensions", "--hide-scrollbars"):
        options.add_argument(arg)
    if phone:  # a phone's viewport (headless windows are never narrower than 500 px)
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": height,
                                                                              "pixelRatio": 1}})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def word(n: int) -> str:
    """A made-up word of its own for every n (base-20 syllables), so no two synthetic headlines share one."""
    out = ""
    n += 20**3  # at least four syllables
    while n:
        n, digit = divmod(n, 20)
        out += SYLLABLES[digit]
    return out.capitalize()


def synthetic(start: int, count: int, when: str) -> list[dict[str, str]]:
    return [{"id": f"syn-{i}", "title": " ".join(word(i * 5 + k) for k in range(5)), "source": f"Wire {i % 7}",
             "published_at": when} for i in range(start, start + count)]


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def fill(base: str, stories: int) -> int:
    """Ingest the sample, then synthetic stories until `stories` are stored; returns how many are."""
    with SAMPLE.open(encoding="utf-8", newline="") as f:
        sample = [{k: row[k] for k in ("id", "title", "source", "published_at")} for row in csv.DictReader(f)]
    when = max(row["published_at"] for row in sample)
    made = 0
    with Client(base, timeout=60) as client:
        batch: list[dict[str, str]] = sample
        while True:
            ids = client.submit(batch)
            results = client.wait(ids, timeout=600)
            if any(r.status != "done" for r in results.values()):
                raise RuntimeError("some headlines were not placed within 600 s")
            have = int(client.stats()["clusters"])
            if have >= stories:
                return have
            batch = synthetic(made, stories - have, when)
            made += len(batch)


def timings(driver: Any, url: str) -> dict[str, float]:
    driver.get(url)  # returns once the page has loaded
    script = ("const n = performance.getEntriesByType('navigation')[0];"
              "const p = performance.getEntriesByName('first-contentful-paint')[0];"
              "return [n.domContentLoadedEventEnd, n.loadEventEnd, p ? p.startTime : null,"
              " document.querySelectorAll('li.story').length];")
    dcl, load, fcp, rows = driver.execute_script(script)
    deadline = time.monotonic() + 2
    while fcp is None and time.monotonic() < deadline:  # the paint entry can land just after load
        time.sleep(0.05)
        fcp = driver.execute_script(script)[2]
    if rows == 0 or not load:
        raise RuntimeError("the page listed no stories, or never finished loading")
    return {"dcl_ms": float(dcl), "load_ms": float(load), "fcp_ms": float(fcp if fcp is not None else "nan")}


def start(folder: Path, workers: int) -> tuple[procs.Proc, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("HEADLINES_")}
    up = procs.python("headline_dedup.cli", "up", "--port", str(port), "--workers", str(workers), cwd=folder,
                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while not _answers(base):
        if up.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"`headlines up` did not answer on port {port}")
        time.sleep(0.2)
    return up, base


def screenshot(path: Path, workers: int) -> None:
    with tempfile.TemporaryDirectory(prefix="headlines-bench-page-") as folder:
        up, base = start(Path(folder), workers)
        try:
            fill(base, 0)
            for width, height, target in ((1280, 1100, path), (390, 1400, path.with_stem(path.stem + "-phone"))):
                driver = chrome(width, height, phone=width < 500)
                try:
                    driver.get(base + "/")
                    time.sleep(1)  # the live list connects
                    driver.save_screenshot(str(target))
                finally:
                    driver.quit()
                print(f"wrote {target}")
        finally:
            procs.stop(up)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.page", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stories", type=int, default=1000, help="stories stored before measuring (default 1000)")
    p.add_argument("--runs", type=int, default=30, help="page loads measured after the first (default 30)")
    p.add_argument("--workers", type=int, default=2, help="workers for `headlines up` (default 2)")
    p.add_argument("--screenshot", type=Path, help="only save a PNG of the front page with the sample to PATH")
    args = p.parse_args(argv)
    if args.screenshot:
        screenshot(args.screenshot, args.workers)
        return 0
    with tempfile.TemporaryDirectory(prefix="headlines-bench-page-") as folder:
        up, base = start(Path(folder), args.workers)
        try:
            stored = fill(base, args.stories)
            load = os.getloadavg()[0]
            driver = chrome()
            try:
                first = timings(driver, base + "/")
                runs = [timings(driver, base + "/") for _ in range(args.runs)]
            finally:
                driver.quit()
        finally:
            procs.stop(up)
    print(f"page first render, GET / with {stored} stories stored, headless Chromium:")
    print(f"  first load (nothing cached): DOMContentLoaded {first['dcl_ms']:.0f} ms, load {first['load_ms']:.0f} ms, "
          f"first contentful paint {first['fcp_ms']:.0f} ms")
    for key, name in (("dcl_ms", "DOMContentLoaded"), ("load_ms", "load"), ("fcp_ms", "first contentful paint")):
        values = [r[key] for r in runs if r[key] == r[key]]  # nan: no paint entry came
        print(f"  {name}, {len(values)} loads: p50 {statistics.median(values):.0f} ms, "
              f"p90 {statistics.quantiles(values, n=10, method='inclusive')[8]:.0f} ms, max {max(values):.0f} ms")
    print(f"  target <= 1000 ms; load average {load:.1f} at start on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
