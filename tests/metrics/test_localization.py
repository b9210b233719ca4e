import pytest

from mmdemo.metrics import best_iou, iou_summary, rank_k_iou, temporal_iou


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
