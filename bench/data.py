"""The headlines the benchmark feeds: dev.csv, or the bundled sample when it is missing."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from bench.procs import ROOT
from headline_dedup.config import get_settings
from headline_dedup.files import read_headlines
from headline_dedup.store import NewHeadline

DEFAULT = ROOT.parent / "shared" / "data" / "dev.csv"
SAMPLE = ROOT / "service" / "sample" / "headlines.csv"


def find_data(path: Path | None) -> Path:
    path = path or DEFAULT
    if path.is_file():
        return path
    print(f"warning: {path} not found; using the bundled sample {SAMPLE} (figures are not comparable)",
          file=sys.stderr)
    return SAMPLE


def load(path: Path, limit: int | None = None) -> list[NewHeadline]:
    rows = [h for h in read_headlines(path, get_settings()) if isinstance(h, NewHeadline)]
    return rows[:limit] if limit else rows


def write_csv(rows: list[NewHeadline], path: Path) -> Path:
    """A CSV `headlines ingest` reads back (published_at as ISO, as in dev.csv)."""
    from headline_dedup.store import iso

    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "title", "source", "published_at"])
        for h in rows:
            out.writerow([h.id, h.title, h.source, iso(h.published)])
    return path
