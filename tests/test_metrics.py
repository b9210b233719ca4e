import pytest

from mmdemo.metrics import best_iou, iou_summary, mrr, rank_k_iou, recall_at_k, temporal_iou


def test_recall_at_k_counts_ranks_within_k():
    ranks = [1, 2, 5, None]
    assert recall_at_k(ranks, 1) == 25.0
    assert recall_at_k(ranks, 2) == 50.0
    assert recall_at_k(ranks, 5) == 75.0
    assert recall_at_k([], 1) == 0.0


def test_mrr_is_mean_of_reciprocal_ranks_in_percent():
    # (1 + 1/2 + 1/4 + 0) / 4 = 0.4375
    assert mrr([1, 2, 4, None]) == pytest.approx(43.75)


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ((0, 10), (0, 10), 1.0),
        ((0, 10), (5, 15), 5 / 15),
        ((0, 10), (10, 20), 0.0),
        ((0, 10), (2, 4), 0.2),
        ((3, 3), (3, 3), 0.0),
    ],
)
def test_temporal_iou(a, b, expected):
    assert temporal_iou(a, b) == pytest.approx(expected)
    assert temporal_iou(b, a) == pytest.approx(expected)


def test_best_iou_ignores_spans_in_other_videos_and_beyond_k():
    gold = ("v1", 10.0, 20.0)
    preds = [("v2", 10.0, 20.0), ("v1", 15.0, 25.0), ("v1", 10.0, 20.0)]
    assert best_iou(preds, gold, 1) == 0.0  # right time, wrong video
    assert best_iou(preds, gold, 2) == pytest.approx(5 / 15)
    assert best_iou(preds, gold, 3) == 1.0


def test_iou_summary_thresholds_are_inclusive():
    out = iou_summary([0.3, 0.5, 0.7, 0.0])
    assert out == {"IoU=0.3": 75.0, "IoU=0.5": 50.0, "IoU=0.7": 25.0, "mIoU": pytest.approx(37.5)}


def test_rank_k_iou_over_questions():
    golds = [("a", 0.0, 10.0), ("b", 0.0, 10.0)]
    preds = [
        [("a", 0.0, 5.0), ("a", 0.0, 10.0)],  # IoU 0.5 at rank 1, 1.0 at rank 2
        [("a", 0.0, 10.0), ("b", 5.0, 10.0)],  # wrong video first, then IoU 0.5
    ]
    r1 = rank_k_iou(preds, golds, 1)
    assert r1 == {"IoU=0.3": 50.0, "IoU=0.5": 50.0, "IoU=0.7": 0.0, "mIoU": pytest.approx(25.0)}
    r2 = rank_k_iou(preds, golds, 2)
    assert r2 == {"IoU=0.3": 100.0, "IoU=0.5": 100.0, "IoU=0.7": 50.0, "mIoU": pytest.approx(75.0)}


def test_rank_k_iou_needs_one_prediction_list_per_question():
    with pytest.raises(ValueError):
        rank_k_iou([[]], [], 1)


def test_average_precision_at_10_by_hand():
    from mmdemo.metrics import average_precision_at_k

    assert average_precision_at_k([3], relevant=1) == pytest.approx(1 / 3)  # DCASE mAP@10: 1 / rank
    assert average_precision_at_k([11], relevant=1) == 0.0  # below the cut-off
    # two relevant at ranks 1 and 4: (1/1 + 2/4) / 2
    assert average_precision_at_k([4, 1], relevant=2) == pytest.approx(0.75)
    # five relevant, two found in the top 10 at ranks 2 and 5: (1/2 + 2/5) / 5
    assert average_precision_at_k([2, 5, 12, 13, 14], relevant=5) == pytest.approx(0.18)


def test_cross_modal_retrieval_by_hand():
    from mmdemo.metrics import cross_modal_retrieval

    # 4 captions x 3 recordings; captions 2 and 3 describe recording 2
    similarity = [[0.9, 0.1, 0.2], [0.5, 0.6, 0.1], [0.3, 0.2, 0.1], [0.1, 0.1, 0.9]]
    out = cross_modal_retrieval(similarity, [0, 1, 2, 2])
    # text to audio ranks: 1, 1, 3, 1
    assert out["t2a_mAP@10"] == pytest.approx(100 * (1 + 1 + 1 / 3 + 1) / 4)
    assert out["t2a_R@1"] == 75.0 and out["t2a_R@5"] == 100.0
    # audio 2's captions score 0.1 and 0.9; caption 1 also scores 0.1: a tie ranks the relevant one last
    assert out["a2t_mAP@10"] == pytest.approx(100 * (1 + 1 + (1 + 2 / 4) / 2) / 3)
    assert out["a2t_R@1"] == 100.0
