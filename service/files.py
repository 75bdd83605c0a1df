"""Reading headline files: CSV with a header (id,title[,source,published_at]) or JSON Lines."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from headline_dedup.config import Settings
from headline_dedup.errors import BadInputError
from headline_dedup.intake import parse_headline
from headline_dedup.store import NewHeadline

FIELDS = ("id", "title", "source", "published_at", "partition")
# utf-8-sig: spreadsheets often start a CSV with a byte-order mark, which would otherwise hide the 'id' column.
ENCODING = "utf-8-sig"


@dataclass
class Rejected:
    line: int
    reason: str


def sniff(path: Path) -> str:
    """'jsonl' or 'csv'; BadInputError at once for anything else."""
    try:
        with path.open(encoding=ENCODING) as f:
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
    with path.open(encoding=ENCODING, newline="") as f:
        if kind == "jsonl":
            yield from _json_lines(f)
        else:
            yield from _csv_rows(f)


def _json_lines(f: TextIO) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(f, start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, BadInputError(f"not JSON: {exc.msg}")
            except (ValueError, RecursionError) as exc:  # an integer of 4300+ digits, nesting too deep
                yield number, BadInputError(f"not acceptable JSON: {type(exc).__name__}")


def _csv_rows(f: TextIO) -> Iterator[tuple[int, Any]]:
    # strict: an unclosed quote is an error, not a title that silently swallows the lines after it.
    reader = csv.DictReader(f, strict=True)
    last = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield last + 1, BadInputError(f"not valid CSV: {exc}")
            if reader.line_num <= last:
                return  # no progress: the reader is stuck at the end of the file
            last = reader.line_num
            continue
        last = reader.line_num
        yield last, {k.strip().lower(): v for k, v in row.items() if k and k.strip().lower() in FIELDS}


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
