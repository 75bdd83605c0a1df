"""The scorer on hand-made cases whose B-cubed and pairwise figures are worked out by hand."""

from __future__ import annotations

import pytest

from headline_dedup.scoring import score


def test_perfect_clustering():
    gold = {"1": "a", "2": "a", "3": "b"}
    s = score(gold, {"1": "x", "2": "x", "3": "y"})
    assert (s.bcubed_p, s.bcubed_r, s.bcubed_f1, s.pair_f1, s.ari) == (1.0, 1.0, 1.0, 1.0, 1.0)
    assert (s.gold_clusters, s.pred_clusters) == (2, 2)


def test_everything_in_one_cluster():
    gold = {"1": "a", "2": "a", "3": "b", "4": "b"}
    s = score(gold, dict.fromkeys(gold, "x"))
    # Each item's cluster has 4 members, 2 of its story: precision 1/2; recall 1.
    assert s.bcubed_p == pytest.approx(0.5)
    assert s.bcubed_r == pytest.approx(1.0)
    assert s.bcubed_f1 == pytest.approx(2 / 3)
    # 6 predicted pairs, 2 of them true.
    assert s.pair_p == pytest.approx(2 / 6)
    assert s.pair_r == pytest.approx(1.0)


def test_all_singletons_and_missing_items():
    gold = {"1": "a", "2": "a", "3": "a", "4": "b"}
    s = score(gold, {"1": "x", "2": "y"})  # 3 and 4 missing: singletons
    assert s.bcubed_p == pytest.approx(1.0)
    # a-items each recall 1/3, the b-item recalls 1/1.
    assert s.bcubed_r == pytest.approx((1 / 3 * 3 + 1) / 4)
    assert s.pair_r == 0.0
    assert s.pred_clusters == 4


def test_asymmetric_split():
    gold = {"1": "a", "2": "a", "3": "a", "4": "b", "5": "b"}
    pred = {"1": "x", "2": "x", "3": "y", "4": "y", "5": "y"}
    s = score(gold, pred)
    # precision: 1,2 -> 1; 3 -> 1/3; 4,5 -> 2/3. recall: 1,2 -> 2/3; 3 -> 1/3; 4,5 -> 1.
    assert s.bcubed_p == pytest.approx((1 + 1 + 1 / 3 + 2 / 3 + 2 / 3) / 5)
    assert s.bcubed_r == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 + 1) / 5)


def test_nothing_to_score_is_perfect():
    s = score({}, {"x": "1"})
    assert s.as_dict() == {"n": 0, "gold_clusters": 0, "pred_clusters": 0, "bcubed_p": 1.0, "bcubed_r": 1.0,
                           "bcubed_f1": 1.0, "pair_p": 1.0, "pair_r": 1.0, "pair_f1": 1.0, "ari": 1.0}


def test_no_predicted_pair_is_pairwise_precise_and_no_true_pair_scores_f1_zero():
    gold = {"1": "a", "2": "a", "3": "b"}
    alone = score(gold, {"1": "x", "2": "y", "3": "z"})
    assert (alone.pair_p, alone.pair_r, alone.pair_f1) == (1.0, 0.0, 0.0)
    wrong = score({"1": "a", "2": "a", "3": "b", "4": "b"}, {"1": "x", "3": "x", "2": "y", "4": "y"})
    assert (wrong.pair_p, wrong.pair_r, wrong.pair_f1) == (0.0, 0.0, 0.0)
    assert wrong.bcubed_f1 == pytest.approx(0.5) and wrong.ari == pytest.approx(-0.5)
    single = score({"1": "a", "2": "b"}, {"1": "x", "2": "y"})
    assert (single.pair_p, single.pair_r, single.pair_f1) == (1.0, 1.0, 1.0)
