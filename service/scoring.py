"""Scoring a clustering against gold story labels: B-cubed, pairwise, adjusted Rand index.

The same definitions as ../shared/score.py, so `headlines evaluate` and that script agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass


@dataclass
class Score:
    n: int
    gold_clusters: int
    pred_clusters: int
    bcubed_p: float
    bcubed_r: float
    bcubed_f1: float
    pair_p: float
    pair_r: float
    pair_f1: float
    ari: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def score(gold: Mapping[str, str], pred: Mapping[str, str | None]) -> Score:
    """Items missing from pred (or with no cluster) count as singletons."""
    ids = list(gold)
    g = [gold[i] for i in ids]
    p = [pred.get(i) or f"\x00missing:{i}" for i in ids]
    joint = Counter(zip(g, p, strict=True))
    gsize, psize = Counter(g), Counter(p)
    n = len(ids)
    if n == 0:
        return Score(0, 0, 0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    # B-cubed: for each item, the share of its predicted cluster that shares its gold story, and back.
    bp = sum(c * c / psize[pc] for (_, pc), c in joint.items()) / n
    br = sum(c * c / gsize[gc] for (gc, _), c in joint.items()) / n
    pairs = sum(c * (c - 1) / 2 for c in joint.values())
    pred_pairs = sum(c * (c - 1) / 2 for c in psize.values())
    gold_pairs = sum(c * (c - 1) / 2 for c in gsize.values())
    pp = pairs / pred_pairs if pred_pairs else 1.0
    pr = pairs / gold_pairs if gold_pairs else 1.0
    return Score(n, len(gsize), len(psize), bp, br, _f1(bp, br), pp, pr, _f1(pp, pr),
                 _ari(g, p))


def _ari(gold: list[str], pred: list[str]) -> float:
    from sklearn.metrics import adjusted_rand_score  # on use: `headlines --help` need not load scikit-learn

    return float(adjusted_rand_score(gold, pred))
