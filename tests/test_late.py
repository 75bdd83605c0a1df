"""Late and out-of-order headlines, in event time: a watermark (newest published_at placed less
allowed_lateness_seconds) decides what closes, so a late headline keeps its story and its original."""

from __future__ import annotations

from datetime import datetime

from headline_dedup.config import build_settings
from headline_dedup.engine import engine_for
from headline_dedup.eventtime import Watermark, behind, watermark
from headline_dedup.normalize import normalize
from headline_dedup.overview import stats
from headline_dedup.pipeline import LookupResult, lookup
from headline_dedup.scoring import score
from headline_dedup.state.records import Totals
from headline_dedup.store import get_headline
from tests.helpers import DAY, ROOT, UNRELATED, headline, load_sample, place

# 418 headlines of 24 stories over three days of dev-small.csv, 20% of each day sent after the first 30%
# of the next (published_at unchanged): see tests/data/README.md.
LATE = ROOT / "tests" / "data" / "late.csv"
HOUR = 3600.0
MARIJUANA = "Medical Marijuana Pills May Ease MS Symptoms"


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _live(r, engine, rows, chunk=25) -> dict[str, str]:
    """Place rows as a live feed does, chunk by chunk; returns id -> story at the end (merges included)."""
    for start in range(0, len(rows), chunk):
        place(r, engine, [headline(x["id"], x["title"], _epoch(x["published_at"]), x["source"])
                          for x in rows[start : start + chunk]])
    return {x["id"]: get_headline(r, engine, x["id"])["cluster_id"] for x in rows}


def test_yesterdays_copy_sent_after_the_stream_moved_on_names_its_original(r, engine):
    (original,) = place(r, engine, [headline("m0", MARIJUANA, DAY - 18 * HOUR)])
    place(r, engine, [headline(f"u{i}", t, DAY + 5 * HOUR) for i, t in enumerate(UNRELATED)])
    (copy,) = place(r, engine, [headline("m1", MARIJUANA + " - Reuters", DAY - 17 * HOUR)])
    assert (copy["cluster_id"], copy["duplicate_of"]) == (original["cluster_id"], "m0")
    assert stats(r, engine)["too_late"] == 0
    # lookup at its time answers as placement did; now (a day on) it is news again.
    found = lookup(r, engine, MARIJUANA, DAY - 17 * HOUR)
    assert (found.cluster_id, found.duplicate_of) == (original["cluster_id"], "m0")


VOLCANO = ["Volcano erupts in Iceland, ash cloud grounds flights", "Iceland volcano eruption grounds flights"]
RELATED = "Iceland volcano ash cloud grounds European flights"


def _late_against_volcano(r, engine, late_at: float) -> tuple[str, dict, LookupResult, LookupResult]:
    """A volcano story at DAY, news moving on to DAY + 1.4 windows, then lookups of a related headline
    and of a copy published at `late_at` (behind the newest, within the lateness), and the related
    headline and the copy placed. Returns the story, the placed headlines and both lookups."""
    window = engine.settings.window_seconds
    story = place(r, engine, [headline(f"v{i}", t, DAY) for i, t in enumerate(VOLCANO)])[0]["cluster_id"]
    for k, at in enumerate((0.9, 1.4)):
        place(r, engine, [headline(f"u{k}", UNRELATED[k], DAY + at * window)])
    looked = lookup(r, engine, RELATED, late_at), lookup(r, engine, VOLCANO[0] + " - Reuters", late_at)
    placed = place(r, engine, [headline("late", RELATED, late_at), headline("copy", VOLCANO[0] + " - AP", late_at)])
    return story, {h["id"]: h for h in placed}, *looked


def test_a_late_headline_is_judged_against_what_was_open_at_its_own_time(r, engine, settings):
    window = engine.settings.window_seconds
    assert engine.settings.allowed_lateness_seconds >= window  # the default: 0.9 window behind the newest is within it
    # Published half a window after the story's last headline: the story was open then.
    story, placed, near, copy = _late_against_volcano(r, engine, DAY + 0.5 * window)
    assert placed["late"]["cluster_id"] == story and placed["late"]["duplicate_of"] is None
    assert (placed["copy"]["cluster_id"], placed["copy"]["duplicate_of"]) == (story, "v0")
    # lookup at that time answered as placement did; now (years on) the story is long closed.
    assert (near.cluster_id, near.duplicate_of) == (story, None)
    assert (copy.cluster_id, copy.duplicate_of) == (story, "v0")
    assert lookup(r, engine, RELATED).cluster_id is None
    assert stats(r, engine)["too_late"] == 0
    # Published 1.2 windows after it: the story had closed at that time, though its state is still kept.
    r.flushdb()
    story, placed, near, copy = _late_against_volcano(r, engine, DAY + 1.2 * window)
    assert r.exists(engine.keys.centroid(story))
    assert all(h["cluster_id"] != story and h["duplicate_of"] is None for h in placed.values())
    assert (near.cluster_id, copy.cluster_id, copy.duplicate_of) == (None, None, None)
    # Without lateness the first case is too late: its story closed before it came.
    r.flushdb()
    strict = engine_for(build_settings({**settings.model_dump(), "allowed_lateness_seconds": 0}))
    story, placed, near, copy = _late_against_volcano(r, strict, DAY + 0.5 * window)
    assert placed["late"]["cluster_id"] != story and placed["copy"]["duplicate_of"] is None
    assert stats(r, strict)["too_late"] == 2


def test_a_headline_later_than_the_allowed_lateness_is_placed_and_counted(r, engine):
    lateness, window = engine.settings.allowed_lateness_seconds, engine.settings.window_seconds
    (original,) = place(r, engine, [headline("m0", MARIJUANA, DAY)])
    # The stream moves on with news in every window, to more than the lateness and a window past m0.
    steps = int(lateness // window) + 2
    for k in range(1, steps + 1):
        place(r, engine, [headline(f"u{k}", UNRELATED[k % len(UNRELATED)], DAY + k * window)])
    (copy,) = place(r, engine, [headline("m1", MARIJUANA, DAY + HOUR)])
    assert copy["status"] == "done"
    assert copy["cluster_id"] != original["cluster_id"]  # its story closed: too late to find it
    assert stats(r, engine)["too_late"] == 1
    assert int(r.hget(engine.keys.stats, Totals.TOO_LATE)) == 1


def test_windows_without_news_do_not_count_towards_the_lateness(r, engine):
    # The stream jumps three days past the lateness with nothing published in between (a paused feed,
    # a quiet partition, a data set with missing days): yesterday's copy still finds its original.
    lateness, window = engine.settings.allowed_lateness_seconds, engine.settings.window_seconds
    (original,) = place(r, engine, [headline("m0", MARIJUANA, DAY)])
    place(r, engine, [headline("u0", UNRELATED[0], DAY + lateness + 3 * window)])
    (copy,) = place(r, engine, [headline("m1", MARIJUANA + " - Reuters", DAY + HOUR)])
    assert (copy["cluster_id"], copy["duplicate_of"]) == (original["cluster_id"], "m0")
    assert stats(r, engine)["too_late"] == 0
    found = lookup(r, engine, MARIJUANA, DAY + HOUR)
    assert (found.cluster_id, found.duplicate_of) == (original["cluster_id"], "m0")


def test_watermark_skips_windows_without_news_only():
    w = 100.0
    # News in every window: newest less the lateness, and stories close a window before that.
    assert watermark(1050.0, 100.0, w, range(11)) == Watermark(950.0, 850.0)
    assert watermark(1050.0, 250.0, w, range(11)) == Watermark(800.0, 700.0)
    # Windows 7, 8 and 9 empty: the lateness of one window reaches back over them to window 6.
    assert watermark(1050.0, 100.0, w, [4, 5, 6, 10]) == Watermark(650.0, 550.0)
    assert behind(1050.0, 150.0, w, [4, 5, 6, 10]) == 600.0
    # A lateness inside newest's own window still keeps the stories of the window before the gap open.
    assert watermark(1050.0, 30.0, w, [4, 5, 6, 10]) == Watermark(1020.0, 620.0)
    # Nothing kept before newest's window: no skipping.
    assert watermark(1050.0, 100.0, w, [10]) == Watermark(950.0, 850.0)


def test_every_late_exact_copy_within_the_lateness_is_duplicate_of_its_original(r, engine):
    rows = load_sample(LATE)
    _live(r, engine, rows)
    newest = max(_epoch(x["published_at"]) for x in rows)
    # Copies of the day before the last one's headlines, published an hour after each, sent once the
    # whole stream is placed: 23 hours behind the newest, within the default lateness of a day.
    day = sorted({x["published_at"][:10] for x in rows})[-2]
    copies = [headline(f"copy-{x['id']}", x["title"].upper(), _epoch(x["published_at"]) + HOUR, x["source"])
              for x in rows if x["published_at"][:10] == day][:60]
    # Only copies within the lateness are promised: those published at most that far behind the newest.
    within = [c for c in copies if newest - c.published <= engine.settings.allowed_lateness_seconds]
    assert len(within) >= 20
    got = place(r, engine, within)
    first_of: dict[str, str] = {}
    for x in rows:
        first_of.setdefault(normalize(x["title"], x["source"] or None), x["id"])
    for c, h in zip(within, got, strict=True):
        original = first_of[normalize(c.title, c.source or None)]
        now = get_headline(r, engine, original)  # its story may have merged since it was placed
        assert (h["duplicate_of"], h["cluster_id"]) == (now["duplicate_of"] or original, now["cluster_id"]), c.title
    assert stats(r, engine)["too_late"] == 0


def test_late_sample_sent_live_scores_as_the_same_stream_in_order(r, engine, settings):
    rows = load_sample(LATE)
    gold = {x["id"]: x["story"] for x in rows}
    in_order = sorted(rows, key=lambda x: x["published_at"])  # stable: each day's headlines keep their order
    f1 = {}
    for name, stream, lateness in (("in order", in_order, None), ("late", rows, None), ("late, none allowed", rows, 0)):
        r.flushdb()
        eng = engine if lateness is None else engine_for(build_settings({**settings.model_dump(),
                                                                         "allowed_lateness_seconds": lateness}))
        f1[name] = score(gold, _live(r, eng, stream)).bcubed_f1
    assert abs(f1["late"] - f1["in order"]) <= 0.01, f1
    assert f1["late, none allowed"] < f1["late"] - 0.02, f1
