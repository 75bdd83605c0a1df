"""The story arithmetic by hand: IDF, TF-IDF vectors, centroid updates, packing, candidate ranking, scoring.

Pure functions on small worked examples, fast enough to run for every mutant (bench/mutation.py).
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from headline_dedup.stories import (
    HEADER_SIZE,
    Centroid,
    Vectorizer,
    best_story,
    centroid_arrays,
    idf,
    pack_centroid,
    rank_candidates,
    tfidf,
    unpack_centroid,
)


def test_idf_is_smooth_and_falls_with_document_frequency():
    assert idf(0, 0) == pytest.approx(1.0)
    assert idf(0, 9) == pytest.approx(math.log(10) + 1)
    assert idf(4, 9) == pytest.approx(math.log(2) + 1)
    assert idf(9, 9) == pytest.approx(1.0)


def test_tfidf_is_unit_length_and_weights_rare_terms_more():
    vec = tfidf([1, 2], {1: 9, 2: 0}, 9)
    rare, common = math.log(10) + 1, 1.0
    norm = math.hypot(rare, common)
    assert vec == pytest.approx({1: common / norm, 2: rare / norm})
    assert tfidf([], {}, 5) == {}
    assert tfidf([3], {}, 0) == {3: 1.0}


def test_vectorizer_hashes_content_words_only_and_every_title_alike():
    v = Vectorizer()
    a, b, empty = v.term_ids(["fed raises rates", "the fed raises rates", "the and of"])
    assert sorted(a) == sorted(b) and len(a) == 3
    assert empty == []
    assert v.term_ids([]) == []
    assert Vectorizer().term_ids(["fed raises rates"]) == [a]


def test_norm_and_cosine():
    c = Centroid({1: 3.0, 2: 4.0}, 2, 0.0)
    assert c.norm == 5.0
    assert c.cosine({1: 1.0}) == pytest.approx(0.6)
    assert c.cosine({1: 0.6, 2: 0.8}) == pytest.approx(1.0)
    assert c.cosine({3: 1.0}) == 0.0
    assert Centroid({}, 1, 0.0).cosine({1: 1.0}) == 0.0


def test_embedding_cosine_uses_the_mean_direction_and_follows_changes():
    c = Centroid({1: 1.0}, 2, 0.0, np.array([3.0, 4.0], dtype=np.float32))
    assert c.embedding_cosine(np.array([1.0, 0.0])) == pytest.approx(0.6)
    c.add({2: 1.0}, 0.0, 80, np.array([-3.0, 0.0], dtype=np.float32))  # sum now (0, 4)
    assert c.embedding_cosine(np.array([1.0, 0.0])) == pytest.approx(0.0)
    assert c.embedding_cosine(np.array([0.0, 1.0])) == pytest.approx(1.0)
    assert Centroid({1: 1.0}, 1, 0.0).embedding_cosine(np.array([1.0])) is None
    assert Centroid({1: 1.0}, 1, 0.0, np.zeros(2, dtype=np.float32)).embedding_cosine(np.ones(2)) is None


def test_add_sums_weights_keeps_the_norm_right_and_counts():
    c = Centroid({1: 1.0}, 1, 10.0)
    assert c.norm == 1.0  # cached, so add must update it
    c.add({1: 1.0, 2: 2.0}, 5.0, 80)
    assert c.weights == {1: 2.0, 2: 2.0}
    assert c.norm == pytest.approx(math.sqrt(8))
    assert (c.size, c.last_seen) == (2, 10.0)
    c.add({3: 1.0}, 20.0, 80)
    assert (c.size, c.last_seen) == (3, 20.0)
    assert c.norm == pytest.approx(3.0)


def test_add_cuts_to_the_heaviest_terms():
    c = Centroid({1: 5.0, 2: 1.0}, 1, 0.0)
    assert c.norm == pytest.approx(math.sqrt(26))
    c.add({3: 3.0}, 0.0, keep=2)
    assert c.weights == {1: 5.0, 3: 3.0}
    assert c.norm == pytest.approx(math.sqrt(34))
    same = Centroid({1: 5.0, 2: 1.0}, 1, 0.0)
    same.add({2: 1.0}, 0.0, keep=2)  # exactly keep terms: nothing cut
    assert same.weights == {1: 5.0, 2: 2.0}


def test_add_embedding_starts_or_adds_the_sum():
    c = Centroid({1: 1.0}, 1, 0.0)
    c.add({}, 0.0, 80, np.array([1.0, 2.0]))
    assert c.embedding is not None and c.embedding.dtype == np.float32 and c.embedding.tolist() == [1.0, 2.0]
    c.add({}, 0.0, 80, np.array([1.0, 1.0], dtype=np.float32))
    assert c.embedding.tolist() == [2.0, 3.0]
    c.add({}, 0.0, 80)
    assert c.embedding.tolist() == [2.0, 3.0]


def test_absorb_sums_sizes_weights_and_keeps_the_latest_time():
    a = Centroid({1: 1.0, 2: 1.0}, 2, 50.0)
    assert a.norm == pytest.approx(math.sqrt(2))
    a.absorb(Centroid({2: 2.0, 3: 0.5}, 3, 40.0), keep=80)
    assert a.weights == {1: 1.0, 2: 3.0, 3: 0.5}
    assert (a.size, a.last_seen) == (5, 50.0)
    assert a.norm == pytest.approx(math.sqrt(1 + 9 + 0.25))
    a.absorb(Centroid({4: 0.1}, 1, 60.0), keep=2)
    assert a.weights == {2: 3.0, 1: 1.0} and a.last_seen == 60.0
    kept = Centroid({1: 1.0}, 1, 0.0, np.ones(2, dtype=np.float32))
    kept.absorb(Centroid({2: 1.0}, 1, 0.0), keep=2)  # two terms, keep 2: both stay
    assert kept.weights == {1: 1.0, 2: 1.0} and kept.embedding is not None and kept.embedding.tolist() == [1, 1]


def test_remove_takes_a_vector_back_out():
    c = Centroid({1: 2.0, 2: 1.0}, 3, 0.0, np.array([2.0, 2.0], dtype=np.float32))
    assert c.norm == pytest.approx(math.sqrt(5))
    c.remove({2: 1.0, 9: 1.0}, np.array([1.0, 0.5], dtype=np.float32))
    assert c.weights == {1: 2.0}
    assert c.norm == pytest.approx(2.0)
    assert c.size == 2 and c.embedding is not None and c.embedding.tolist() == [1.0, 1.5]
    c.remove({1: 1.0})
    assert c.weights == {1: 1.0} and c.size == 1 and c.embedding.tolist() == [1.0, 1.5]
    c.remove({1: 1.0 - 1e-7})  # a rounding crumb goes too
    assert c.weights == {} and c.size == 1
    bare = Centroid({1: 1.0}, 2, 0.0)
    bare.remove({}, np.ones(2, dtype=np.float32))
    assert bare.embedding is None


def test_pack_layout_counts_every_byte():
    c = Centroid({7: 0.5, 9: 0.25, 11: 2.0}, 4, 99.5, np.ones(3, dtype=np.float32))
    raw = pack_centroid(c)
    assert struct.calcsize("<dIHH") == HEADER_SIZE
    assert len(raw) == HEADER_SIZE + 3 * 8 + 3 * 2
    assert struct.unpack_from("<dIHH", raw) == (99.5, 4, 3, 3)
    ids, ws, emb = centroid_arrays(raw)
    assert ids.tolist() == [7, 9, 11] and ws.tolist() == [0.5, 0.25, 2.0]
    assert emb is not None and emb.tolist() == [1.0, 1.0, 1.0]
    back = unpack_centroid(raw)
    assert back.norm == pytest.approx(math.sqrt(0.25 + 0.0625 + 4))
    assert back.embedding is not None and back.embedding.dtype == np.float32
    plain = pack_centroid(Centroid({7: 0.5}, 1, 1.0))
    assert len(plain) == HEADER_SIZE + 8 and centroid_arrays(plain)[2] is None


def test_an_old_blob_is_read_with_the_old_layout():
    ids, ws = np.array([7, 9, 4], dtype="<i4"), np.array([0.5, 0.25, 1.0], dtype="<f4")
    old = struct.pack("<dI", 3.0, 2) + ids.tobytes() + ws.tobytes()
    got_ids, got_ws, emb = centroid_arrays(old)
    assert got_ids.tolist() == [7, 9, 4] and got_ws.tolist() == [0.5, 0.25, 1.0] and emb is None
    short = struct.pack("<dI", 3.0, 2) + np.array([5], dtype="<i4").tobytes() + np.array([2.0], dtype="<f4").tobytes()
    assert len(short) == HEADER_SIZE + 4  # shorter than the new header could account for
    assert unpack_centroid(short).weights == {5: 2.0}


def test_rank_candidates_sums_shared_weight_over_every_index():
    vec = {1: 0.5, 2: 0.3, 3: 0.2}
    today = {1: ["a", "b"], 2: ["b"], 9: ["z"]}
    yesterday = {3: ["c", "a"], 1: []}
    assert rank_candidates(vec, [today, yesterday], 10) == ["b", "a", "c"]  # b 0.8, a 0.7, c 0.2
    assert rank_candidates(vec, [today, yesterday], 2) == ["b", "a"]
    assert rank_candidates(vec, [], 5) == []


def test_best_story_subtracts_the_time_and_small_story_penalties():
    vec = {1: 1.0}
    stories = {"s": Centroid({1: 1.0}, 4, 100.0)}
    assert best_story(vec, 100.0, ["s"], stories, 1000, 0.5).score == pytest.approx(1.0)
    assert best_story(vec, 600.0, ["s"], stories, 1000, 0.5).score == pytest.approx(1.0 - 0.5 * 500 / 1000)
    assert best_story(vec, 50.0, ["s"], stories, 1000, 0.5).score == pytest.approx(1.0)  # earlier: no penalty
    assert best_story(vec, 100.0, ["s"], stories, 1000, 0.0, 0.4).score == pytest.approx(1.0 - 0.4 / 2)
    one = {"s": Centroid({1: 1.0}, 0, 100.0)}
    assert best_story(vec, 100.0, ["s"], one, 1000, 0.0, 0.4).score == pytest.approx(0.6)  # size 0 counts as 1


def test_best_story_skips_closed_unknown_and_non_positive_stories():
    vec = {1: 1.0}
    stories = {"old": Centroid({1: 1.0}, 1, 0.0), "far": Centroid({2: 1.0}, 1, 999.0)}
    closed = best_story(vec, 1000.0, ["missing", "old", "far"], stories, 1000, 0.0)
    assert (closed.cluster_id, closed.score) == (None, 0.0)  # old is a window away; far shares nothing
    just_open = best_story(vec, 999.0, ["old"], stories, 1000, 0.0)
    assert just_open.cluster_id == "old"


def test_best_story_takes_the_highest_score_and_the_embedding_blend():
    vec = {1: 0.6, 2: 0.8}
    stories = {"a": Centroid({1: 1.0}, 1, 0.0, np.array([1.0, 0.0], dtype=np.float32)),
               "b": Centroid({2: 1.0}, 1, 0.0, np.array([0.0, 1.0], dtype=np.float32))}
    assert best_story(vec, 0.0, ["a", "b"], stories, 1000, 0.0).cluster_id == "b"
    emb = np.array([1.0, 0.0])
    blended = best_story(vec, 0.0, ["a", "b"], stories, 1000, 0.0, 0.0, emb, 0.5, 0.1)
    assert blended.cluster_id == "a" and blended.score == pytest.approx(0.6 + 0.5 * (1.0 - 0.1))
    off = best_story(vec, 0.0, ["a", "b"], stories, 1000, 0.0, 0.0, emb, 0.0, 0.1)
    assert off.cluster_id == "b" and off.score == pytest.approx(0.8)


def test_a_tie_keeps_the_first_candidate_and_a_blank_embedding_neither_helps_nor_hurts():
    vec = {1: 1.0}
    stories = {"a": Centroid({1: 1.0}, 1, 0.0), "b": Centroid({1: 1.0}, 1, 0.0, np.zeros(2, dtype=np.float32))}
    assert best_story(vec, 0.0, ["a", "b"], stories, 1000, 0.0).cluster_id == "a"
    assert best_story(vec, 0.0, ["b", "a"], stories, 1000, 0.0).cluster_id == "b"
    blank = best_story(vec, 0.0, ["b"], stories, 1000, 0.0, 0.0, np.array([1.0, 0.0]), 0.5, 0.2)
    assert blank.score == pytest.approx(1.0)


def test_term_ids_are_scikit_learns_hashes_in_a_space_of_2_to_the_22():
    # Stored postings and centroids hold these ids: another hash or space would orphan a running window.
    from sklearn.feature_extraction.text import HashingVectorizer

    from headline_dedup.normalize import content_words

    titles = ["fed raises rates", "volcano erupts near reykjavik"]
    reference = HashingVectorizer(analyzer=content_words, n_features=1 << 22, alternate_sign=False, norm=None,
                                  binary=True).transform(titles)
    assert Vectorizer().term_ids(titles) == [sorted(reference[i].indices.tolist()) for i in range(2)]


def test_placings_words_cut_once_give_the_same_terms_and_embedding_as_the_titles():
    # prepare() cuts each title into words once and hands the content words to both: the same figures.
    from headline_dedup.embedding import Embedder
    from headline_dedup.normalize import content_of, normalize, words

    titles = [normalize(t) for t in ["The Fed raises rates again", "日本の東北沖で地震", "a the of", ""]]
    content = [content_of(words(t)) for t in titles]
    assert Vectorizer().term_ids_of(content) == Vectorizer().term_ids(titles)
    embedder = Embedder()
    assert np.array_equal(embedder.embed_words(content), embedder.embed(titles))


def test_best_story_looks_past_unknown_and_closed_candidates_and_blends_only_when_asked():
    vec = {1: 1.0}
    stories = {"old": Centroid({1: 1.0}, 1, 0.0), "new": Centroid({1: 1.0}, 1, 900.0, np.ones(2, dtype=np.float32))}
    assert best_story(vec, 1000.0, ["gone", "old", "new"], stories, 1000, 0.0).cluster_id == "new"
    # An embedding alone turns nothing on: emb_weight defaults to 0.
    plain = best_story(vec, 1000.0, ["new"], stories, 1000, 0.0, emb=np.array([1.0, 0.0]))
    assert plain.score == pytest.approx(1.0)


def test_edges_of_the_arithmetic():
    # A term no document has shown yet counts as df 0, not 1.
    assert tfidf([1, 2], {1: 9}, 9) == pytest.approx(tfidf([1, 2], {1: 9, 2: 0}, 9))
    # Any gap after the story's last headline costs, even under a second.
    stories = {"s": Centroid({1: 1.0}, 4, 100.0)}
    assert best_story({1: 1.0}, 100.5, ["s"], stories, 1000, 0.5).score == pytest.approx(1.0 - 0.5 * 0.5 / 1000)
    # A weight left at exactly 1e-6 is a crumb too.
    c = Centroid({1: 2e-6, 2: 1.0}, 2, 0.0)
    c.remove({1: 1e-6})
    assert c.weights == {2: 1.0}


def test_absorb_adds_or_takes_the_embedding_sum():
    a = Centroid({1: 1.0}, 1, 0.0, np.array([1.0, 2.0], dtype=np.float32))
    a.absorb(Centroid({1: 1.0}, 1, 0.0, np.array([3.0, 1.0], dtype=np.float32)), 80)
    assert a.embedding is not None and a.embedding.tolist() == [4.0, 3.0]
    b = Centroid({1: 1.0}, 1, 0.0)
    b.absorb(Centroid({1: 1.0}, 1, 0.0, np.array([3.0, 1.0], dtype=np.float32)), 80)
    assert b.embedding is not None and b.embedding.tolist() == [3.0, 1.0]


def test_the_blend_needs_both_a_weight_and_an_embedding_and_its_baseline_defaults_to_0():
    vec = {1: 1.0}
    stories = {"s": Centroid({1: 1.0}, 1, 0.0, np.array([1.0, 0.0], dtype=np.float32))}
    assert best_story(vec, 0.0, ["s"], stories, 1000, 0.0, emb_weight=0.5).score == pytest.approx(1.0)
    assert best_story(vec, 0.0, ["s"], stories, 1000, 0.0, 0.0, np.array([1.0, 0.0]), 0.5).score == (
        pytest.approx(1.5))


def test_an_old_blob_of_many_terms_reads_them_all():
    ids, ws = np.arange(7, dtype="<i4"), np.ones(7, dtype="<f4")
    old = struct.pack("<dI", 3.0, 2) + ids.tobytes() + ws.tobytes()
    assert list(unpack_centroid(old).weights) == list(range(7))
