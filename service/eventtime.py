"""The watermark: how far event time has moved on, so window state knows what may close. Pure.

In Flink's and Beam's terms the watermark is the newest event time seen less the allowed lateness. Here
the lateness is measured over windows that had news: a stretch of event time in which nothing at all
was published (a feed that paused, a quiet partition, a replay of days with gaps) does not count
towards it, so a headline that arrives late across such a gap still finds the stories that were open at
its own time. A stream with news in every window gets exactly newest - lateness, as before, so memory
is the same; across a gap it keeps at most the same number of windows that hold news.
"""

from __future__ import annotations

from collections.abc import Iterable


def watermark(newest: float, lateness: float, window: float, occupied: Iterable[int]) -> float:
    """newest - lateness, moved back by one window for every window without news (not in `occupied`,
    the buckets that hold window state) between the result and newest's own window."""
    top = int(newest // window)
    kept = {b for b in occupied if b < top}
    mark = newest - lateness
    if not kept:
        return mark
    lowest, skipped = min(kept), 0
    while True:
        mark = newest - lateness - skipped * window
        first = int(mark // window)
        if first < lowest:
            return mark  # back past everything kept: nothing older to hold open
        empty = sum(1 for b in range(first, top) if b not in kept)
        if empty == skipped:
            return mark
        skipped = empty
