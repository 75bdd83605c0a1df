"""Reading headline files: CSV with a header (id,title[,source,published_at]) or JSON Lines."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.config import Settings
from service.errors import BadInputError
from service.intake import parse_headline
from service.store import NewHeadline

FIELDS = ("id", "title", "source", "published_at")


@dataclass
class Rejected:
    line: int
    reason: str


def sniff(path: Path) -> str:
    """'jsonl' or 'csv'; BadInputError at once for anything else."""
    try:
        with path.open(encoding="utf-8") as f:
            first = next((line for line in f if line.strip()), "")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{path} is not a text file (not UTF-8): expected CSV or JSON Lines") from exc
    except OSError as exc:
        raise BadInputError(f"cannot read {path}: {exc.strerror}") from exc
    if not first:
        raise BadInputError(f"{path} is empty")
    if first.lstrip().startswith("{"):
        return "jsonl"
    header = [h.strip().lower() for h in next(csv.reader([first]))]
    if "title" not in header:
        raise BadInputError(f"{path} is neither JSON Lines nor CSV with a header naming a 'title' column "
                            f"(first line: {first.strip()[:80]!r})")
    return "csv"


def _raw_records(path: Path, kind: str) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8", newline="") as f:
        if kind == "jsonl":
            for number, line in enumerate(f, start=1):
                if line.strip():
                    try:
                        yield number, json.loads(line)
                    except json.JSONDecodeError as exc:
                        yield number, BadInputError(f"not JSON: {exc.msg}")
            return
        reader = csv.DictReader(f)
        for row in reader:
            yield reader.line_num, {k.strip().lower(): v for k, v in row.items() if k and k.strip().lower() in FIELDS}


def read_headlines(path: Path, settings: Settings) -> Iterator[NewHeadline | Rejected]:
    """Each record in the file, checked: a NewHeadline, or a Rejected with its line number and reason."""
    kind = sniff(path)
    for number, record in _raw_records(path, kind):
        if isinstance(record, BadInputError):
            yield Rejected(number, str(record))
            continue
        try:
            yield parse_headline(record, settings)
        except BadInputError as exc:
            yield Rejected(number, str(exc))
