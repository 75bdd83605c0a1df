from __future__ import annotations

import numpy as np
from datasketch import MinHash

from headline_dedup.dedup import Signer, jaccard

TOKENS = [
    ["fed", "signals", "rate", "rise"],
    [],
    ["fed", "signals", "rate", "rise", "reuters"],
    ["fed", "fed", "rate"],
    ["air", "force", "one", "lands"],
    [],
]


def test_batched_signatures_equal_datasketch_bulk():
    signer = Signer(num_perm=64, threshold=0.6)
    expected = [m.hashvalues for m in MinHash.bulk([[t.encode() for t in ts] for ts in TOKENS], num_perm=64)]
    assert np.array_equal(signer.sign(TOKENS), np.vstack(expected))


def test_signatures_estimate_jaccard():
    sig = Signer(num_perm=128, threshold=0.6).sign(TOKENS)
    assert jaccard(sig[0], sig[0]) == 1.0
    assert 0.5 < jaccard(sig[0], sig[2]) < 1.0  # 4 of 5 words shared
    assert jaccard(sig[0], sig[4]) < 0.2


def test_an_empty_batch_has_no_rows():
    assert Signer(num_perm=64, threshold=0.6).sign([]).shape == (0, 64)
