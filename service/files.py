"""Reading headline files: CSV with a header (id,title[,source,published_at]) or JSON Lines, either of them
gzip-compressed (a name ending in .gz), or standard input ("-", spooled to a temporary file: the format is
sniffed from the first line and the records read after it)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import sys
import tempfile
import zlib
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from headline_dedup.config import Settings
from headline_dedup.errors import BadInputError
from headline_dedup.intake import parse_headline
from headline_dedup.store import NewHeadline

FIELDS = ("id", "title", "source", "published_at", "partition")


@dataclass
class Rejected:
    line: int
    reason: str


# A quoted CSV field may span lines (a title with a line break in it). One still open after this many
# lines is an unclosed quote: the record is reported and reading goes on at the line after it.
MAX_RECORD_LINES = 10
BOM = "\ufeff"

Line = tuple[int, "str | BadInputError"]
FORMATS = ("csv", "jsonl")
STDIN = "-"


def is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when its name ends in .gz."""
    try:
        return cast(IO[bytes], gzip.open(path, "rb")) if is_gzip(path) else path.open("rb")
    except OSError as exc:
        raise BadInputError(f"cannot read {path}: {exc.strerror}") from exc


def open_text(path: Path) -> IO[str]:
    """The file as UTF-8 text for csv (newline=''), decompressed when its name ends in .gz."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", newline="")


@contextmanager
def stdin_file(name: str = "stdin") -> Iterator[Path]:
    """Standard input copied to a temporary file, which is read twice (sniffed, then read), as a Path."""
    with tempfile.TemporaryDirectory(prefix="headlines-stdin-") as folder:
        path = Path(folder) / name
        with path.open("wb") as f:
            shutil.copyfileobj(sys.stdin.buffer, f)
        yield path


def _lines(path: Path) -> Iterator[Line]:
    """Each line with its number, decoded on its own: one line that is not UTF-8 is one bad line."""
    with open_binary(path) as f:
        try:
            yield from _decoded(f)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise BadInputError(f"{path} is not a readable gzip file ({exc or 'cut short'})") from exc


def _decoded(f: IO[bytes]) -> Iterator[Line]:
    for number, raw in enumerate(f, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, BadInputError(f"not UTF-8 (byte {exc.start + 1} of the line)")
            continue
        # Spreadsheets often start a CSV with a byte-order mark, which would hide the 'id' column.
        yield number, text.removeprefix(BOM) if number == 1 else text


def sniff(path: Path) -> str:
    """'jsonl' or 'csv'; BadInputError at once for anything else."""
    first = next(((n, text) for n, text in _lines(path) if not isinstance(text, str) or text.strip()), None)
    if first is None:
        raise BadInputError(f"{path} is empty")
    if not isinstance(first[1], str):
        raise BadInputError(f"{path} is not a text file (not UTF-8 on line {first[0]}): expected CSV or JSON Lines")
    text = first[1]
    if text.lstrip().startswith("{"):
        return "jsonl"
    header = [h.strip().lower() for h in next(csv.reader([text]))]
    if "title" not in header:
        raise BadInputError(f"{path} is neither JSON Lines nor CSV with a header naming a 'title' column "
                            f"(first line: {text.strip()[:80]!r})")
    return "csv"


def _raw_records(path: Path, kind: str) -> Iterator[tuple[int, Any]]:
    lines = _lines(path)
    yield from _json_lines(lines) if kind == "jsonl" else _csv_rows(lines)


def _json_lines(lines: Iterator[Line]) -> Iterator[tuple[int, Any]]:
    for number, line in lines:
        if isinstance(line, BadInputError):
            yield number, line
        elif line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, BadInputError(f"not JSON: {exc.msg}")
            except (ValueError, RecursionError) as exc:  # an integer of 4300+ digits, nesting too deep
                yield number, BadInputError(f"not acceptable JSON: {type(exc).__name__}")


def _parse_csv(texts: list[str]) -> list[str] | None:
    """The one record these lines make, or None (not exactly one complete record)."""
    try:
        rows = list(csv.reader(texts, strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


def _csv_rows(lines: Iterator[Line]) -> Iterator[tuple[int, Any]]:
    ahead: deque[Line] = deque()  # lines read while looking for a quote's end, to be read again

    def next_line() -> Line | None:
        return ahead.popleft() if ahead else next(lines, None)

    header: list[str] | None = None
    while (item := next_line()) is not None:
        number, text = item
        if isinstance(text, BadInputError):
            yield number, text
            continue
        if not text.strip():
            continue
        record = _parse_csv([text])
        if record is None:
            record, used = _multiline_record(text, ahead, lines, len(header) if header else 0)
            if record is None:
                yield number, BadInputError("not valid CSV: a quote opened on this line is never closed "
                                            "(reading goes on at the next line)")
                continue
            for _ in range(used):
                ahead.popleft()
        if header is None:
            header = [h.strip().lower() for h in record]
            continue
        row = {name: value for name, value in zip(header, record, strict=False) if name in FIELDS}
        if not row.get("id", "").strip():
            row.pop("id", None)  # an empty id cell: the file gives this headline no id
        yield number, row


def _multiline_record(first: str, ahead: deque[Line], lines: Iterator[Line],
                      fields: int) -> tuple[list[str] | None, int]:
    """A record whose quoted field goes on over the next lines: it, and how many more lines it took.
    Only a complete record with the header's number of fields counts, so an unclosed quote does not
    swallow good lines that happen to close it."""
    texts = [first]
    for used in range(1, MAX_RECORD_LINES):
        if len(ahead) < used:
            following = next(lines, None)
            if following is None:
                break
            ahead.append(following)
        text = ahead[used - 1][1]
        if isinstance(text, BadInputError):
            break
        texts.append(text)
        record = _parse_csv(texts)
        if record is not None and (not fields or len(record) == fields):
            return record, used
    return None, 0


def read_headlines(path: Path, settings: Settings, kind: str | None = None) -> Iterator[NewHeadline | Rejected]:
    """Each record in the file, checked: a NewHeadline, or a Rejected with its line number and reason.
    `kind`: "csv" or "jsonl"; sniffed from the first line when None."""
    kind = kind or sniff(path)
    for number, record in _raw_records(path, kind):
        if isinstance(record, BadInputError):
            yield Rejected(number, str(record))
            continue
        try:
            yield parse_headline(record, settings)
        except BadInputError as exc:
            yield Rejected(number, str(exc))
