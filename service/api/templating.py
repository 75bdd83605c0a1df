"""The story browser's Jinja2 environment: templates in service/api/templates, and filters for times."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


def when(value: str | None) -> str:
    """An ISO time as people read it: '24 Mar 2014 12:00 UTC'."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%d %b %Y %H:%M UTC")


def span(first: str, last: str) -> str:
    """A story's time span, the date said once when both ends fall on one day."""
    a, b = (datetime.fromisoformat(t).astimezone(UTC) for t in (first, last))
    if a.date() == b.date():
        return f"{a:%d %b %Y %H:%M}" + (f"\N{EN DASH}{b:%H:%M}" if b > a else "") + " UTC"
    return f"{when(first)} \N{EN DASH} {when(last)}"


templates.env.filters["when"] = when
templates.env.filters["span"] = span
