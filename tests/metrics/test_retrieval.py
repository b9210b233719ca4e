import pytest

from mmdemo.metrics import average_precision_at_k, cross_modal_retrieval, mrr, recall_at_k


def test_recall_at_k_counts_ranks_within_k():
    ranks = [1, 2, 5, None]
    assert recall_at_k(ranks, 1) == 25.0
    assert recall_at_k(ranks, 2) == 50.0
    assert recall_at_k(ranks, 5) == 75.0
    assert recall_at_k([], 1) == 0.0


def test_mrr_is_mean_of_reciprocal_ranks_in_percent():
    # (1 + 1/2 + 1/4 + 0) / 4 = 0.4375
    assert mrr([1, 2, 4, None]) == pytest.approx(43.75)


def test_average_precision_at_10_by_hand():
    assert average_precision_at_k([3], relevant=1) == pytest.approx(1 / 3)  # DCASE mAP@10: 1 / rank
    assert average_precision_at_k([11], relevant=1) == 0.0  # below the cut-off
    # two relevant at ranks 1 and 4: (1/1 + 2/4) / 2
    assert average_precision_at_k([4, 1], relevant=2) == pytest.approx(0.75)
    # five relevant, two found in the top 10 at ranks 2 and 5: (1/2 + 2/5) / 5
    assert average_precision_at_k([2, 5, 12, 13, 14], relevant=5) == pytest.approx(0.18)


def test_cross_modal_retrieval_by_hand():
    # 4 captions x 3 recordings; captions 2 and 3 describe recording 2
    similarity = [[0.9, 0.1, 0.2], [0.5, 0.6, 0.1], [0.3, 0.2, 0.1], [0.1, 0.1, 0.9]]
    out = cross_modal_retrieval(similarity, [0, 1, 2, 2])
    # text to audio ranks: 1, 1, 3, 1
    assert out["t2a_mAP@10"] == pytest.approx(100 * (1 + 1 + 1 / 3 + 1) / 4)
    assert out["t2a_R@1"] == 75.0 and out["t2a_R@5"] == 100.0
    # audio 2's captions score 0.1 and 0.9; caption 1 also scores 0.1: a tie ranks the relevant one last
    assert out["a2t_mAP@10"] == pytest.approx(100 * (1 + 1 + (1 + 2 / 4) / 2) / 3)
    assert out["a2t_R@1"] == 100.0
