"""The pipeline against a real Redis: duplicates, stories, lookup, idempotence, window expiry."""

from __future__ import annotations

from headline_dedup.pipeline import lookup, process_batch
from headline_dedup.state import headlines as stored
from headline_dedup.state.keys import Keys
from headline_dedup.state.records import Totals
from headline_dedup.store import get_cluster, get_headline, submit
from tests.helpers import BOTH, DAY, FED, UNRELATED, headline, place

pytestmark = BOTH


def test_exact_duplicate_after_normalisation_joins_the_first(r, engine):
    first, second = place(r, engine, [headline("a", FED), headline("b", FED.lower() + " - Reuters")])
    assert first["status"] == second["status"] == "done"
    assert second["cluster_id"] == first["cluster_id"]
    assert second["duplicate_of"] == "a"
    assert first["duplicate_of"] is None


def test_duplicate_across_batches(r, engine):
    (first,) = place(r, engine, [headline("a", FED)])
    (second,) = place(r, engine, [headline("b", FED.lower() + " - Reuters")])
    assert second["cluster_id"] == first["cluster_id"]
    assert second["duplicate_of"] == "a"


def test_near_duplicate_is_marked(r, engine):
    first, second = place(r, engine, [headline("a", FED), headline("b", NEAR)])
    assert second["cluster_id"] == first["cluster_id"]
    assert second["duplicate_of"] == "a"


NEAR = "Fed's dovish tone sends the dollar lower as markets price in more rate cuts"


def test_a_copy_of_a_copy_names_the_first_headline(r, engine):
    # b is a near duplicate of a; c copies b exactly: c's original is a (no chain c -> b -> a), whether
    # b was placed in the same batch as c or in an earlier one.
    first, second, third = place(r, engine, [headline("a", FED), headline("b", NEAR), headline("c", NEAR)])
    assert (second["duplicate_of"], third["duplicate_of"]) == ("a", "a")
    (fourth,) = place(r, engine, [headline("d", NEAR + " - Reuters")])
    assert fourth["duplicate_of"] == "a"
    assert len({h["cluster_id"] for h in (first, second, third, fourth)}) == 1


def test_unrelated_events_land_apart(r, engine):
    placed = place(r, engine, [headline("fed", FED)] + [headline(f"u{i}", t) for i, t in enumerate(UNRELATED)])
    clusters = [h["cluster_id"] for h in placed]
    assert len(set(clusters)) == len(clusters)
    assert all(h["duplicate_of"] is None for h in placed)


def test_same_story_different_words_joins(r, engine):
    placed = place(r, engine, [
        headline("a", "Malaysia Airlines flight MH370 missing over South China Sea"),
        headline("b", "Search for missing Malaysia Airlines flight MH370 widens"),
    ])
    assert placed[0]["cluster_id"] == placed[1]["cluster_id"]
    assert placed[1]["duplicate_of"] is None


def test_lookup_of_a_paraphrase_finds_the_story_and_stores_nothing(r, engine):
    (fed,) = place(r, engine, [headline("fed", FED)])
    place(r, engine, [headline(f"u{i}", t) for i, t in enumerate(UNRELATED)])
    keys_before = r.dbsize()
    result = lookup(r, engine, "Dollar slides as Fed's dovish tone has markets pricing in more rate cuts", DAY)
    assert result.cluster_id == fed["cluster_id"]
    assert result.score > 0
    assert r.dbsize() == keys_before
    assert lookup(r, engine, "Volcano erupts in Iceland grounding flights", DAY).cluster_id is None


def test_resubmitting_an_id_stores_nothing_new(r, engine):
    assert submit(r, engine, [headline("a", FED)]) == ["a"]
    assert submit(r, engine, [headline("a", "Something else entirely")]) == []
    assert stored.count(r, engine.keys) == 1
    assert get_headline(r, engine, "a")["title"] == FED


def test_processing_a_batch_twice_changes_nothing(r, engine):
    ids = submit(r, engine, [headline("a", FED), headline("b", UNRELATED[0])])
    assert process_batch(r, engine, ids) == 2
    cluster = get_headline(r, engine, "a")["cluster_id"]
    assert process_batch(r, engine, ids) == 0
    assert get_cluster(r, engine, cluster)["size"] == 1
    assert int(r.hget(engine.keys.stats, Totals.DONE)) == 2


def test_cluster_view_counts_members(r, engine):
    placed = place(r, engine, [headline("a", FED), headline("b", FED + " - Reuters", source="Reuters")])
    view = get_cluster(r, engine, placed[0]["cluster_id"])
    assert view["size"] == 2
    assert [h["id"] for h in view["headlines"]] == ["a", "b"]
    assert view["title"] == FED
    assert view["first_seen"] == "2014-03-24T12:00:00Z"


def test_stories_close_and_window_state_expires(r, engine):
    keys: Keys = engine.keys
    (old,) = place(r, engine, [headline("old", FED, published=DAY)])
    assert r.exists(keys.centroid(old["cluster_id"]))
    window = engine.settings.window_seconds
    # The stream moves on with news in every window (windows without news do not count towards the
    # allowed lateness: tests/test_late.py).
    for k in (1, 2):
        place(r, engine, [headline(f"u{k}", UNRELATED[k], published=DAY + k * window)])
    (new,) = place(r, engine, [headline("new", FED, published=DAY + 3 * window)])
    # Too far apart in time: a new story, and the old story's window state is gone.
    assert new["cluster_id"] != old["cluster_id"]
    assert new["duplicate_of"] is None
    assert not r.exists(keys.centroid(old["cluster_id"]))
    assert not r.exists(keys.lsh(engine.bucket(DAY)))
    # Permanent state stays.
    assert get_headline(r, engine, "old")["cluster_id"] == old["cluster_id"]


def test_a_batch_of_wordless_titles_is_placed(r, engine):
    # Intake refuses such titles, but a batch must never wedge a worker whatever reaches it.
    placed = place(r, engine, [headline("a", "!!!"), headline("b", "???")])
    assert all(h["status"] == "done" and h["cluster_id"] for h in placed)


def test_a_late_batch_still_finds_its_days_stories(r, engine):
    # Several workers: a batch of tomorrow's news can be placed before the rest of today's.
    (first,) = place(r, engine, [headline("a", "Volcano erupts in Iceland, ash cloud grounds flights")])
    later = DAY + engine.settings.window_seconds
    submit(r, engine, [headline("late", "Iceland volcano ash cloud grounds European flights")])
    place(r, engine, [headline("tomorrow", UNRELATED[0], published=later)])
    process_batch(r, engine, ["late"])
    assert get_headline(r, engine, "late")["cluster_id"] == first["cluster_id"]


def test_word_order_tells_two_results_apart_and_copies_stay_copies(r, engine):
    home = "Liverpool beat Manchester United 2-1 at Anfield"
    away = "Manchester United beat Liverpool 2-1 at Old Trafford"
    _, second = place(r, engine, [headline("home", home), headline("away", away)])
    assert second["duplicate_of"] is None
    copies = ["LIVERPOOL BEAT MANCHESTER UNITED 2-1 AT ANFIELD - Reuters", "UPDATE 2-" + home,
              "LIVERPOOL, March 16 (Reuters) - " + home, home + " - video"]
    # Not a clause added ("... as Suarez scores twice"): at a Jaccard of 0.65 over words and pairs, just
    # above the 0.6 threshold, 64 permutations find it only about half the time, by luck of the hashes.
    placed = place(r, engine, [headline(f"c{i}", t) for i, t in enumerate(copies)])
    assert [h["duplicate_of"] for h in placed] == ["home"] * len(copies)


QUAKE_JA = ["日本の東北沖でマグニチュード7.3の地震、津波警報", "東北沖でM7.3の地震 津波警報を発表"]


def test_japanese_reports_of_one_quake_share_a_story(r, engine):
    placed = place(r, engine, [headline("j0", QUAKE_JA[0]), headline("u", UNRELATED[0]),
                               headline("j1", QUAKE_JA[1]), headline("j2", "東京株式市場、日経平均が続落")])
    assert placed[0]["cluster_id"] == placed[2]["cluster_id"]
    assert placed[2]["duplicate_of"] is None  # one story, not a copy
    assert len({h["cluster_id"] for h in placed}) == 3


def test_two_languages_do_not_share_a_story_by_accident(r, engine):
    # Chinese and Japanese share characters, and every language shares "NHK" and "7.3".
    placed = place(r, engine, [headline("ja", "NHK: 東北沖でM7.3の地震 津波警報を発表"),
                               headline("zh", "NHK: 日本东北海域发生7.3级地震 发布海啸警报"),
                               headline("en", "NHK: magnitude 7.3 quake off Tohoku, tsunami warning issued")])
    assert len({h["cluster_id"] for h in placed}) == 3
