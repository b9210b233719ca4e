import numpy as np
import pytest

from mmdemo.metrics import class_iou, confusion_matrix, mean_iou

# A hand-made 3 x 4 label map with five classes; 255 marks pixels the benchmark ignores.
GOLD = [[0, 0, 1, 1],
        [2, 2, 1, 255],
        [0, 0, 2, 255]]
PREDICTED = [[0, 1, 1, 1],
             [2, 3, 1, 3],  # the 3 on the ignored pixel is not counted
             [0, 0, 2, 4]]  # nor the 4: class 4 is in neither map once ignored pixels are dropped


def test_confusion_matrix_counts_gold_rows_against_predicted_columns():
    assert confusion_matrix(GOLD, PREDICTED, 5).tolist() == [
        [3, 1, 0, 0, 0],
        [0, 3, 0, 0, 0],
        [0, 0, 2, 1, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
    ]


def test_segmentation_iou_by_hand():
    iou = class_iou(confusion_matrix(GOLD, PREDICTED, 5))
    # class 0: 3 / (3 + 1 missed); 1: 3 / (3 + 1 false); 2: 2 / (2 + 1 missed); 3: predicted, never gold
    assert iou[:4] == pytest.approx([75.0, 75.0, 200 / 3, 0.0])
    assert np.isnan(iou[4])  # absent from both: not scored
    assert mean_iou(confusion_matrix(GOLD, PREDICTED, 5)) == pytest.approx((75 + 75 + 200 / 3 + 0) / 4)
    assert mean_iou(confusion_matrix(GOLD, GOLD, 5)) == 100.0
    assert mean_iou(np.zeros((5, 5))) == 0.0


def test_confusion_matrix_sums_over_images_and_refuses_bad_labels():
    twice = confusion_matrix(GOLD, PREDICTED, 5) + confusion_matrix(GOLD, PREDICTED, 5)
    assert (twice == confusion_matrix(np.stack([GOLD, GOLD]), np.stack([PREDICTED, PREDICTED]), 5)).all()
    with pytest.raises(ValueError, match="labels must be in 0..4"):
        confusion_matrix([[0, 5]], [[0, 0]], 5)
    with pytest.raises(ValueError, match="predicted labels"):
        confusion_matrix([[0, 1]], [[0, 9]], 5)
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_matrix([[0, 1]], [[0, 1, 1]], 5)
