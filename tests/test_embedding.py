"""The semantic signal: static token embeddings, their place in centroids, scoring and the merge pass."""

from __future__ import annotations

import numpy as np
import pytest

from headline_dedup.config import build_settings
from headline_dedup.embedding import Embedder
from headline_dedup.engine import Engine
from headline_dedup.merge import plan
from headline_dedup.normalize import normalize
from headline_dedup.stories import Centroid, best_story, centroid_arrays, pack_centroid, unpack_centroid
from tests.helpers import headline, place

STORIES = ("Turkey blocks Twitter", "Turkey bans Twitter", "Twitter turns 8")  # ban, paraphrase, birthday


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def _embed(embedder: Embedder, *titles: str) -> np.ndarray:
    return embedder.embed([normalize(t) for t in titles])


def test_embeddings_are_unit_vectors_and_a_title_without_pieces_is_zero(embedder):
    vectors = _embed(embedder, "Turkey blocks Twitter", "the of and", "Twitter turns 8")
    assert vectors.shape == (3, embedder.dims) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[[0, 2]], axis=1), 1.0, atol=1e-5)
    assert not vectors[1].any()  # stop words only: no content word, nothing to embed


def test_a_paraphrase_is_closer_than_a_same_name_story(embedder):
    ban, paraphrase, birthday = _embed(embedder, *STORIES)
    assert ban @ paraphrase > ban @ birthday + 0.2


def test_unknown_words_split_into_wordpieces_and_accents_fold(embedder):
    pieces = embedder.pieces("herbalifes")
    assert len(pieces) >= 2
    assert embedder.pieces("café") == embedder.pieces("cafe") != []
    assert embedder.pieces("x" * 101) == []


def test_centroid_round_trips_with_its_embedding():
    emb = np.arange(128, dtype=np.float32) / 100
    c = Centroid({7: 0.5, 9: 0.25}, 3, 1234.5, emb)
    raw = pack_centroid(c)
    assert len(raw) == len(pack_centroid(Centroid(c.weights, 3, 1234.5))) + 2 * 128  # float16 per dimension
    back = unpack_centroid(raw)
    assert (back.weights, back.size, back.last_seen) == (c.weights, 3, 1234.5)
    assert back.embedding is not None and np.allclose(back.embedding, emb, atol=1e-2)
    ids, ws, packed_emb = centroid_arrays(raw)
    assert ids.tolist() == [7, 9] and ws.tolist() == [0.5, 0.25] and packed_emb is not None
    assert unpack_centroid(pack_centroid(Centroid({7: 1.0}, 1, 0.0))).embedding is None


def test_embedding_decides_between_stories_that_share_the_same_terms(embedder):
    ban, paraphrase, birthday = _embed(embedder, *STORIES)
    centroids = {"ban": Centroid({1: 1.0}, 5, 0.0, ban * 5), "birthday": Centroid({1: 1.0}, 5, 0.0, birthday * 5)}
    vec = {1: 1.0}
    args = (vec, 0.0, ["birthday", "ban"], centroids, 86400, 0.0, 0.0)
    assert best_story(*args).cluster_id == "birthday"  # a tie: the first candidate keeps it
    assert best_story(*args, paraphrase, 0.5, 0.2).cluster_id == "ban"
    low = best_story(*args, birthday, 0.5, 0.2)
    assert low.cluster_id == "birthday" and low.score == pytest.approx(1.0 + 0.5 * 0.8, abs=1e-3)


def test_merge_pass_blend_joins_a_paraphrase_but_not_a_same_name_story(embedder):
    ban, paraphrase, birthday = _embed(embedder, *STORIES)
    s = build_settings(path=None)

    def stories(second: np.ndarray) -> dict[str, Centroid]:
        return {"1": Centroid({1: 1.0, 2: 3.0}, 4, 0.0, ban * 4), "2": Centroid({1: 1.0, 3: 3.0}, 4, 0.0, second * 4)}

    # The centroids share one light term (TF-IDF cosine 0.1): too little to merge on its own. With the
    # shipped blend, the paraphrase merges and the birthday, which shares only the name, stays apart.
    blend = (s.merge_embedding_weight, s.merge_embedding_baseline)
    assert plan(stories(paraphrase), s.merge_threshold, 80).root == {}
    assert plan(stories(paraphrase), s.merge_threshold, 80, *blend).root == {"2": "1"}
    assert plan(stories(birthday), s.merge_threshold, 80, *blend).root == {}


def test_absorb_adds_embedding_sums():
    a = Centroid({1: 1.0}, 1, 0.0, np.ones(4, dtype=np.float32))
    a.absorb(Centroid({2: 1.0}, 2, 5.0, np.full(4, 2.0, dtype=np.float32)), 80)
    assert a.embedding is not None and a.embedding.tolist() == [3.0] * 4 and a.size == 3
    b = Centroid({1: 1.0}, 1, 0.0)
    b.absorb(Centroid({2: 1.0}, 1, 0.0, np.ones(4, dtype=np.float32)), 80)
    assert b.embedding is not None and b.embedding.tolist() == [1.0] * 4


def test_stored_centroid_carries_the_sum_of_its_members_embeddings(r, engine):
    titles = ["Malaysia Airlines flight MH370 missing over South China Sea",
              "Search for missing Malaysia Airlines flight MH370 widens"]
    placed = place(r, engine, [headline("a", titles[0]), headline("b", titles[1])])
    assert placed[0]["cluster_id"] == placed[1]["cluster_id"]
    raw = r.get(engine.keys.centroid(placed[0]["cluster_id"]))
    stored = unpack_centroid(raw).embedding
    expected = engine.embedder.embed([normalize(t) for t in titles]).sum(axis=0)
    assert stored is not None and np.allclose(stored, expected, atol=1e-2)


def test_weight_zero_loads_no_table_and_stores_no_embedding(r, settings):
    engine = Engine(settings.model_copy(update={"embedding_weight": 0.0, "merge_embedding_weight": 0.0}))
    assert engine.embedder is None
    (placed,) = place(r, engine, [headline("a", "Volcano erupts in Iceland grounding flights")])
    assert unpack_centroid(r.get(engine.keys.centroid(placed["cluster_id"]))).embedding is None


def test_a_centroid_written_before_embeddings_still_reads():
    import struct

    ids, ws = np.array([7, 9], dtype="<i4"), np.array([0.5, 0.25], dtype="<f4")
    old = struct.pack("<dI", 123.0, 3) + ids.tobytes() + ws.tobytes()
    c = unpack_centroid(old)
    assert (c.weights, c.size, c.last_seen, c.embedding) == ({7: 0.5, 9: 0.25}, 3, 123.0, None)
    assert unpack_centroid(struct.pack("<dI", 5.0, 0)).weights == {}


def test_no_embedding_on_either_side_is_neither_bonus_nor_penalty():
    vec = {1: 1.0}
    plain = Centroid({1: 1.0}, 4, 0.0)
    blank = Centroid({1: 1.0}, 4, 0.0, np.zeros(8, dtype=np.float32))
    emb = np.ones(8, dtype=np.float32) / np.sqrt(8)
    without = best_story(vec, 0.0, ["a"], {"a": plain}, 86400, 0.05, 0.3).score
    assert best_story(vec, 0.0, ["a"], {"a": blank}, 86400, 0.05, 0.3, emb, 0.5, 0.2).score == without
    assert best_story(vec, 0.0, ["a"], {"a": plain}, 86400, 0.05, 0.3, emb, 0.5, 0.2).score == without
