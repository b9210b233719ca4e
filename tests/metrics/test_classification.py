import math

import numpy as np
import pytest

from mmdemo.metrics import accuracy, log_loss, per_class_f1


def test_per_class_f1_by_hand():
    f1 = per_class_f1(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1]), 4)
    # class 0: tp 1, 2 predicted, 1 true -> 2/3; class 1: tp 1, 1 predicted, 3 true -> 1/2; class 2: 0; class 3 absent: 0
    np.testing.assert_allclose(f1, [2 / 3, 0.5, 0.0, 0.0])


def test_log_loss_and_accuracy_by_hand():
    probs = np.array([[0.5, 0.5], [0.25, 0.75]])
    assert log_loss(probs, [0, 1]) == pytest.approx((math.log(2) - math.log(0.75)) / 2)
    assert log_loss(np.array([[2.0, 2.0]]), [1]) == pytest.approx(math.log(2))  # rows are normalised
    assert log_loss(np.array([[1.0, 0.0]]), [1]) == pytest.approx(-math.log(1e-15))  # clipped, not infinite
    assert accuracy(probs, [1, 1]) == 50.0 and accuracy(probs, [0, 1]) == 100.0
