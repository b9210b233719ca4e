import numpy as np
import pytest

from mmdemo.retrieval.bm25 import BM25Index, tokenize
from mmdemo.retrieval.dense import DenseIndex
from mmdemo.retrieval.fusion import minmax, weighted_sum

DOCS = [
    "apply pressure to the wound with a clean bandage",
    "stretch the hamstring by reaching for your toes",
    "check the blood sugar with a glucose meter",
]


def test_tokenize_drops_stopwords_and_punctuation():
    assert tokenize("How do I check MY blood-sugar?") == ["check", "blood", "sugar"]


def test_bm25_ranks_the_matching_document_first():
    scores = BM25Index(DOCS).scores("how to check blood sugar")
    assert scores.shape == (3,) and int(np.argmax(scores)) == 2


def test_bm25_unknown_words_score_zero():
    np.testing.assert_array_equal(BM25Index(DOCS).scores("xylophone"), 0.0)


def test_dense_index_scores_are_inner_products():
    emb = np.eye(3, dtype=np.float32)
    index = DenseIndex(emb)
    q = np.array([0.1, 0.9, 0.3], dtype=np.float32)
    np.testing.assert_allclose(index.scores(q), q, atol=1e-6)
    scores, ids = index.search(q, 2)
    assert list(ids) == [1, 2]


@pytest.mark.slow
def test_dense_minilm_finds_paraphrase(minilm):
    index = DenseIndex(minilm.encode(DOCS))
    scores = index.scores(minilm.encode(["how do I measure glucose levels"])[0])
    assert int(np.argmax(scores)) == 2


def test_minmax_and_constant_lists():
    np.testing.assert_allclose(minmax(np.array([2.0, 4.0, 3.0])), [0.0, 1.0, 0.5])
    np.testing.assert_array_equal(minmax(np.array([5.0, 5.0])), [0.0, 0.0])


def test_weighted_sum_mixes_normalised_scores():
    bm25 = np.array([0.0, 10.0, 5.0])
    dense = np.array([0.9, 0.1, 0.5])
    np.testing.assert_allclose(weighted_sum(bm25, dense, 0.0), [0.0, 1.0, 0.5], atol=1e-6)
    np.testing.assert_allclose(weighted_sum(bm25, dense, 1.0), [1.0, 0.0, 0.5], atol=1e-6)
    np.testing.assert_allclose(weighted_sum(bm25, dense, 0.5), [0.5, 0.5, 0.5], atol=1e-6)

