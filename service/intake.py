"""Checking incoming headlines (from HTTP, files or Python) and turning them into NewHeadline."""

from __future__ import annotations

import time
import unicodedata
import uuid
from datetime import UTC, datetime
from typing import Any

from headline_dedup.config import Settings
from headline_dedup.errors import BadInputError
from headline_dedup.normalize import normalize, words
from headline_dedup.store import NewHeadline

# A published_at further ahead than this is a clock or parsing error, and would close every open story.
MAX_FUTURE_SECONDS = 86400
# Before this, a date is a parsing slip (year 1 or 0), and some cannot even be written back as ISO 8601.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


def parse_time(value: Any, name: str = "published_at") -> float:
    """ISO 8601 (a 'Z' or offset; no offset means UTC) -> epoch seconds; errors name the field `name`."""
    if not isinstance(value, str):
        raise BadInputError(f"{name} must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise BadInputError(f"{name} {value!r} is not an ISO 8601 date (e.g. 2014-03-24 or "
                            "2014-03-24T12:00:00Z)") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed < EARLIEST:
        raise BadInputError(f"{name} {value!r} is before 1900")
    ts = parsed.timestamp()
    if ts > time.time() + MAX_FUTURE_SECONDS:
        raise BadInputError(f"{name} {value!r} is more than a day in the future")
    return ts


def check_text(value: str, field: str) -> None:
    # JSON can carry lone surrogates ("\ud800"), which UTF-8 cannot encode: storing them would fail with a 500.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadInputError(f"{field} is not valid Unicode (lone surrogate at position {exc.start})") from exc


def check_id(value: Any, settings: Settings, field: str = "id") -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise BadInputError(f"{field} must be a string")
    hid = str(value).strip()
    if not hid:
        raise BadInputError(f"{field} must not be empty")
    if len(hid) > settings.max_id_length:
        raise BadInputError(f"{field} is longer than {settings.max_id_length} characters")
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in hid):
        raise BadInputError(f"{field} must not contain spaces or control characters")
    if hid in (".", ".."):
        # URL clients resolve these path segments away, so GET /headlines/{id} could never find it.
        raise BadInputError(f"{field} must not be '.' or '..'")
    return hid


def check_partition(value: Any, settings: Settings) -> str:
    """A partition name is checked like an id, and may not hold braces: it becomes a Redis hash tag."""
    name = check_id(value, settings, "partition")
    if "{" in name or "}" in name:
        raise BadInputError("partition must not contain '{' or '}'")
    return name


def partition_of(settings: Settings, title: str, given: Any = None) -> str:
    """The partition a headline belongs to under `partition_by` ('' is the default partition). A given
    partition is always checked; it is used only with `partition_by: field`."""
    name = check_partition(given, settings) if given not in (None, "") else ""
    if settings.partition_by == "language":
        from headline_dedup.language import detect

        return detect(title)
    return name if settings.partition_by == "field" else ""


def check_title(value: Any, settings: Settings, source: str | None = None) -> str:
    if not isinstance(value, str):
        raise BadInputError("title must be a string")
    title = " ".join(value.split())
    if not title:
        raise BadInputError("title must not be empty")
    if len(title) > settings.max_title_length:
        raise BadInputError(f"title is longer than {settings.max_title_length} characters")
    check_text(title, "title")
    # A title of punctuation or symbols only has nothing to compare, and a batch of those fails in the worker.
    if not words(normalize(title, source or None)):
        raise BadInputError("title has no words (only punctuation, symbols or the source's name)")
    return title


def parse_headline(obj: Any, settings: Settings, now: float | None = None) -> NewHeadline:
    """One headline object -> NewHeadline; BadInputError says what is wrong."""
    if not isinstance(obj, dict):
        raise BadInputError("a headline must be a JSON object")
    unknown = set(obj) - {"id", "title", "source", "published_at", "partition"}
    if unknown:
        raise BadInputError(f"unknown field(s): {', '.join(sorted(unknown))}")
    if "title" not in obj:
        raise BadInputError("title is missing")
    # Only an absent (or null) id is made up: an empty one is a mistake, and making one up would store a
    # retry of the same headline a second time.
    hid = check_id(obj["id"], settings) if obj.get("id") is not None else uuid.uuid4().hex
    source = obj.get("source") or ""
    if not isinstance(source, str) or len(source) > settings.max_title_length:
        raise BadInputError("source must be a string of reasonable length")
    check_text(source, "source")
    published_raw = obj.get("published_at")
    published = parse_time(published_raw) if published_raw not in (None, "") else (now or time.time())
    title = check_title(obj["title"], settings, source.strip())
    return NewHeadline(hid, title, source.strip(), published, partition_of(settings, title, obj.get("partition")))


def parse_many(objs: list[Any], settings: Settings) -> list[NewHeadline]:
    """All or nothing: one bad item rejects the list, with every bad item's index and reason."""
    now = time.time()
    good: list[NewHeadline] = []
    problems: list[dict[str, object]] = []
    for i, obj in enumerate(objs):
        try:
            good.append(parse_headline(obj, settings, now))
        except BadInputError as exc:
            problems.append({"index": i, "reason": str(exc)})
    if problems:
        first = "; ".join(f"headlines[{p['index']}]: {p['reason']}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise BadInputError(f"{len(problems)} bad headline(s), nothing stored: {first}{more}", problems)
    return good
