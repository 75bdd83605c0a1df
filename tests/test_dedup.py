from __future__ import annotations

import itertools

import numpy as np
from datasketch import MinHash, MinHashLSH
from datasketch.hashfunc import sha1_hash32

from headline_dedup.dedup import _FOLD, Signer, jaccard, pack_signature, pair_hash, unpack_signature

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


def test_signatures_with_pairs_equal_datasketch_over_words_and_pairs():
    # datasketch's MinHash over the words and the adjacent pairs, a pair hashed by pair_hash from its words'
    # SHA-1 hashes: what Signer computes for a batch at once, lists of one word and none included.
    def hashfunc(token: bytes) -> int:
        if b" " not in token:
            return int(sha1_hash32(token))
        a, b = (np.array([sha1_hash32(w)], dtype=np.uint32) for w in token.split(b" "))
        return int(pair_hash(a, b)[0])

    lists = [*TOKENS, ["solo"], ["beat", "liverpool"], ["liverpool", "beat"]]
    shingled = [[t.encode() for t in ts] + [f"{a} {b}".encode() for a, b in itertools.pairwise(ts)] for ts in lists]
    expected = np.vstack([m.hashvalues for m in MinHash.bulk(shingled, num_perm=64, hashfunc=hashfunc)])
    got = Signer(num_perm=64, threshold=0.6).sign(lists, pairs=True)
    assert np.array_equal(got, expected)
    assert not np.array_equal(got[-1], got[-2])  # same words, other order: other pairs


def test_signatures_chunk_like_one_block():
    # Long batches are signed in chunks of lists; the values must not depend on where a chunk ends.
    lists = [[f"w{i % 37}", f"w{i % 11}", f"x{i}"][: 1 + i % 3] for i in range(700)]
    signer = Signer(num_perm=64, threshold=0.6)
    whole = signer.sign(lists, pairs=True)
    assert np.array_equal(whole, np.vstack([signer.sign([ts], pairs=True) for ts in lists]))


def test_signatures_estimate_jaccard():
    sig = Signer(num_perm=128, threshold=0.6).sign(TOKENS)
    assert jaccard(sig[0], sig[0]) == 1.0
    assert 0.5 < jaccard(sig[0], sig[2]) < 1.0  # 4 of 5 words shared
    assert jaccard(sig[0], sig[4]) < 0.2


def test_an_empty_batch_has_no_rows():
    assert Signer(num_perm=64, threshold=0.6).sign([]).shape == (0, 64)


def test_bands_are_datasketchs_layout_for_the_threshold():
    signer = Signer(num_perm=64, threshold=0.6)
    lsh = MinHashLSH(threshold=0.6, num_perm=64)
    assert signer.bands == (lsh.b, lsh.r) and lsh.b * lsh.r <= 64
    assert Signer(num_perm=64, threshold=0.9).bands != signer.bands


def test_band_fields_fold_each_bands_values_into_one_digest():
    signer = Signer(num_perm=64, threshold=0.6)
    b, r = signer.bands
    sig = signer.sign(TOKENS)
    fields = signer.band_fields(sig)
    assert len(fields) == len(TOKENS) and all(len(f) == b for f in fields)
    assert [f.split(":")[0] for f in fields[0]] == [str(i) for i in range(b)]
    # The digest: the band's r values times the odd multipliers, summed modulo 2**64 (odd: invertible
    # modulo 2**64, so each position's values map one to one onto its terms).
    assert all(int(m) % 2 == 1 for m in _FOLD) and len(set(_FOLD.tolist())) == len(_FOLD)
    row = [int(v) for v in sig[0]]
    folds = [int(m) for m in _FOLD]
    expected = [sum(row[k * r + j] * folds[j % len(folds)] for j in range(r)) % 2**64 for k in range(b)]
    assert fields[0] == [f"{k}:{d:x}" for k, d in enumerate(expected)]
    # One value changed changes its band's field only.
    changed = sig[:1].copy()
    changed[0, r + 1] ^= 1
    diff = [k for k, (x, y) in enumerate(zip(fields[0], signer.band_fields(changed)[0], strict=True)) if x != y]
    assert diff == [1]
    # Values past the last band are not part of any field.
    if b * r < 64:
        tail = sig[:1].copy()
        tail[0, -1] ^= 1
        assert signer.band_fields(tail)[0] == fields[0]
    assert fields[1] == fields[5]  # empty token lists: the same all-max signature


def test_signatures_pack_little_endian_and_round_trip():
    sig = Signer(num_perm=16, threshold=0.6).sign(TOKENS[:1])[0]
    raw = pack_signature(sig)
    assert len(raw) == 64 and raw[:4] == int(sig[0]).to_bytes(4, "little")
    assert np.array_equal(unpack_signature(raw), sig)
    assert jaccard(sig, unpack_signature(raw)) == 1.0
    other = sig.copy()
    other[:4] ^= 1
    assert jaccard(sig, other) == 0.75
