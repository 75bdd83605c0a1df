"""The watermark: how far event time has moved on, so window state knows what may close. Pure.

In Flink's and Beam's terms the watermark is the newest event time seen less the allowed lateness, and
state closes a window after it. Here time is measured over windows that had news: a stretch of event
time in which nothing at all was published (a feed that paused, a quiet partition, a replay of days with
gaps) does not count, so a headline that arrives late across such a gap still finds the stories that
were open at its own time. A stream with news in every window gets exactly newest - lateness, and
closes stories last seen a window before that, as before, so memory is the same; across a gap it keeps
at most the same number of windows that hold news.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Watermark:
    mark: float  # a headline published before this is too late
    close_through: float  # stories last seen at or before this close; buckets before its bucket go


def watermark(newest: float, lateness: float, window: float, occupied: Iterable[int]) -> Watermark:
    kept = set(occupied)
    return Watermark(behind(newest, lateness, window, kept), behind(newest, lateness + window, window, kept))


def behind(t: float, distance: float, window: float, occupied: Iterable[int]) -> float:
    """t - distance, moved back one window for every window without news (not in `occupied`, the
    buckets that hold window state) between the result's window and t's own."""
    top = int(t // window)
    kept = {b for b in occupied if b < top}
    mark = t - distance
    if not kept:
        return mark
    lowest, skipped = min(kept), 0
    while True:
        mark = t - distance - skipped * window
        first = int(mark // window)
        if first < lowest:
            return mark  # back past everything kept: nothing older to hold open
        empty = sum(1 for b in range(first, top) if b not in kept)
        if empty == skipped:
            return mark
        skipped = empty
