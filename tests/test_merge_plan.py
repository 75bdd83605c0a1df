"""The merge plan by hand: which open stories are candidates, which pairs merge, in what order, who survives.

Pure functions on small centroids, fast enough to run for every mutant (bench/mutation.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from headline_dedup.merge import _final, _rename, _units, candidates, plan
from headline_dedup.stories import Centroid, pack_centroid


def c(weights: dict[int, float], size: int = 1, emb: list[float] | None = None) -> Centroid:
    return Centroid(dict(weights), size, 0.0, None if emb is None else np.array(emb, dtype=np.float32))


def packed(stories: dict[str, Centroid]) -> dict[str, bytes]:
    return {cid: pack_centroid(s) for cid, s in stories.items()}


def test_candidates_are_the_stories_with_a_partner_at_the_threshold():
    # Cosines: a-b 0.8 (unit vectors (1, 0) vs (0.8, 0.6)), a-c 0, b-c 0.6 * 1 = 0.6 with c = (0, 1).
    stories = {"a": c({1: 2.0}), "b": c({1: 0.8, 2: 0.6}), "c": c({2: 5.0}), "d": c({9: 1.0})}
    # Packed weights are float32: 0.8 comes back a hair under.
    assert set(candidates(packed(stories), 0.79)) == {"a", "b"}
    assert set(candidates(packed(stories), 0.59)) == {"a", "b", "c"}
    assert candidates(packed(stories), 0.81) == {}
    got = candidates(packed(stories), 0.79)["b"]
    assert got.weights == pytest.approx({1: 0.8, 2: 0.6}) and got.size == 1
    assert candidates(packed({"a": stories["a"]}), 0.1) == {}
    assert candidates({}, 0.1) == {}


def test_a_story_alone_is_never_its_own_partner():
    assert candidates(packed({"a": c({1: 1.0}), "b": c({2: 1.0})}), 0.5) == {}


def test_candidates_blend_in_the_embedding_for_pairs_that_share_a_term():
    same = {"a": c({1: 1.0, 2: 1.0}, emb=[1.0, 0.0]), "b": c({1: 1.0, 3: 1.0}, emb=[2.0, 0.0])}  # cosine 0.5
    assert candidates(packed(same), 0.6) == {}
    assert set(candidates(packed(same), 0.6, 0.5, 0.5)) == {"a", "b"}  # 0.5 + 0.5 * (1 - 0.5) = 0.75
    assert candidates(packed(same), 0.8, 0.5, 0.5) == {}
    apart = {"a": c({1: 1.0, 2: 1.0}, emb=[1.0, 0.0]), "b": c({1: 1.0, 3: 1.0}, emb=[-1.0, 0.0])}
    assert candidates(packed(apart), 0.4, 0.5, 0.0) == {}  # 0.5 + 0.5 * (-1 - 0) = 0


def test_units_are_unit_rows_and_zero_without_an_embedding():
    units = _units([np.array([3.0, 4.0]), None, np.array([0.0, 0.0]), np.array([1.0, 0.0, 0.0])])
    assert units.shape == (4, 3)  # the widest embedding sets the size; another size is a zero row
    assert units[0].tolist() == [0.0, 0.0, 0.0] and units[3].tolist() == [1.0, 0.0, 0.0]
    two = _units([np.array([3.0, 4.0]), None], 2)
    assert two[0] == pytest.approx([0.6, 0.8]) and two[1].tolist() == [0.0, 0.0]
    assert _units([None, None]).shape == (2, 0)


def test_plan_merges_the_most_similar_pair_first_and_stops_below_the_threshold():
    def stories() -> dict[str, Centroid]:  # fresh each time: plan merges into the centroids it is given
        return {"1": c({1: 1.0, 2: 1.0}), "2": c({1: 1.0, 2: 1.0, 3: 0.1}), "3": c({2: 1.0, 4: 1.0}),
                "4": c({7: 1.0})}

    # 1-2 nearly 1, then the merged 1 with 3 about 0.5; 4 shares nothing.
    first = plan(stories(), 0.9, 80)
    assert first.root == {"2": "1"}
    assert first.centroids["1"].weights == pytest.approx({1: 2.0, 2: 2.0, 3: 0.1})
    assert first.centroids["1"].size == 2 and set(first.centroids) == {"1"}
    both = plan(stories(), 0.45, 80)
    assert both.root == {"2": "1", "3": "1"}
    assert both.centroids["1"].size == 3 and set(both.centroids) == {"1"}
    assert plan(stories(), 1.01, 80).root == {}


def test_the_bigger_then_older_story_survives():
    big = plan({"5": c({1: 1.0}, size=1), "9": c({1: 1.0}, size=3)}, 0.5, 80)
    assert big.root == {"5": "9"} and big.centroids["9"].size == 4
    old = plan({"9": c({1: 1.0}, size=2), "5": c({1: 1.0}, size=2)}, 0.5, 80)
    assert old.root == {"9": "5"}
    next_door = plan({"8": c({1: 1.0}, size=2), "7": c({1: 1.0}, size=2)}, 0.5, 80)  # one id apart
    assert next_door.root == {"8": "7"}
    named = plan({"x": c({1: 1.0}), "7": c({1: 1.0})}, 0.5, 80)  # a non-numeric id counts as age 0
    assert named.root == {"7": "x"}


def test_a_merged_story_is_compared_again_with_its_new_centroid():
    def stories() -> dict[str, Centroid]:
        return {"1": c({1: 1.0}), "2": c({1: 1.0, 2: 0.3}), "3": c({1: 1.0, 3: 0.8})}

    # 1-2 first (0.958). 3 had 0.781 with 1 alone, but 0.772 with the merged {1: 2, 2: 0.3}: at 0.775 it
    # stays out, which only a recomputed row knows; at 0.76 it joins.
    assert plan(stories(), 0.775, 80).root == {"2": "1"}
    assert plan(stories(), 0.76, 80).root == {"2": "1", "3": "1"}


def test_two_grown_stories_are_compared_with_each_others_new_centroids():
    # a1-a2 and b1-b2 merge first (cosine 1); the merged a and b then meet at about 0.5, above 0.45.
    def stories() -> dict[str, Centroid]:
        return {"1": c({1: 1.0, 3: 1.0}), "2": c({1: 1.0, 3: 1.0}), "3": c({2: 1.0, 3: 1.0}),
                "4": c({2: 1.0, 3: 1.0})}

    result = plan(stories(), 0.45, 80)
    assert len({_final(result.root, k) for k in stories()}) == 1
    assert plan(stories(), 0.55, 80).root == {"2": "1", "4": "3"}


def test_plan_blends_the_embedding_and_updates_it_after_a_merge():
    def stories(third: list[float]) -> dict[str, Centroid]:
        return {"1": c({1: 1.0, 2: 1.0}, emb=[1.0, 0.0]), "2": c({1: 1.0, 3: 1.0}, emb=[1.0, 0.0]),
                "3": c({1: 1.0, 4: 1.0}, emb=third)}

    assert plan(stories([0.0, 1.0]), 0.6, 80).root == {}  # every cosine 0.5, and no blend
    blended = plan(stories([0.0, 1.0]), 0.6, 80, 0.5, 0.5)  # 1-2: 0.5 + 0.25; 3 with either: 0.5 - 0.25
    assert blended.root == {"2": "1"}
    merged = blended.centroids["1"]
    assert merged.embedding is not None and merged.embedding.tolist() == [2.0, 0.0]
    # All alike: 3 then joins the merged 1 (cosine 2/sqrt(12), 0.58, plus 0.25).
    assert plan(stories([1.0, 0.0]), 0.6, 80, 0.5, 0.5).root == {"2": "1", "3": "1"}


def test_plan_keeps_the_heaviest_terms():
    result = plan({"1": c({1: 1.0, 2: 0.5}), "2": c({1: 1.0, 3: 0.1})}, 0.5, 2)
    assert result.centroids["1"].weights == {1: 2.0, 2: 0.5}


def test_nothing_to_merge_with_fewer_than_two_stories():
    assert plan({}, 0.1, 80).root == {}
    assert plan({"1": c({1: 1.0})}, 0.1, 80).centroids == {}


def test_final_follows_chains_and_rename_keeps_order_unique_and_capped():
    root = {"3": "2", "2": "1"}
    assert (_final(root, "3"), _final(root, "2"), _final(root, "1"), _final(root, "9")) == ("1", "1", "1", "9")
    assert _rename(["5", "3", "1", "2", "7"], {"3": "1", "2": "7"}, 10) == ["5", "1", "7"]
    assert _rename(["5", "3", "1", "2", "7"], {"3": "1", "2": "7"}, 2) == ["5", "1"]
    assert _rename([], {}, 3) == []


def test_a_score_exactly_at_the_threshold_merges():
    assert set(candidates(packed({"a": c({1: 1.0}), "b": c({1: 1.0})}), 1.0)) == {"a", "b"}
    assert plan({"1": c({1: 1.0}), "2": c({1: 1.0})}, 1.0, 80).root == {"2": "1"}


def test_two_grown_stories_meet_with_both_new_centroids():
    # Found by search against a variant that compares a grown story with the other grown one's old row:
    # 4 joins 1 and 3 joins 2 first; merged 1 and merged 2 then score above 0.5 only as they are now.
    def stories() -> dict[str, Centroid]:
        return {"1": c({3: 1.0, 1: 2.0}), "2": c({4: 0.3, 3: 0.3}), "3": c({3: 2.0, 4: 1.0, 1: 1.0}),
                "4": c({3: 0.3, 2: 1.0, 1: 2.0})}

    assert plan(stories(), 0.5, 80).root == {"3": "2", "4": "1", "2": "1"}


def test_the_baseline_is_subtracted_before_the_first_merge_too():
    def stories() -> dict[str, Centroid]:  # cosine 0.5, embeddings alike: 0.5 + 0.5 * (1 - 0.5) = 0.75
        return {"1": c({1: 1.0, 2: 1.0}, emb=[1.0, 0.0]), "2": c({1: 1.0, 3: 1.0}, emb=[1.0, 0.0])}

    assert plan(stories(), 0.8, 80, 0.5, 0.5).root == {}
    assert plan(stories(), 0.7, 80, 0.5, 0.5).root == {"2": "1"}
    assert plan(stories(), 0.8, 80).root == {}  # no weight given: no blend, whatever the embeddings
    assert plan(stories(), 0.45, 80).root == {"2": "1"}
