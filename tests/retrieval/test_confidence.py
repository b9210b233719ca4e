"""The calibrated answer probability: a probability, rising with evidence, and fitted on train questions."""

import numpy as np

from mmdemo.retrieval.confidence import CalibrationConfig, probability, video_features


def test_probability_is_in_the_unit_interval_and_monotone_in_both_features():
    config = CalibrationConfig()
    cosines, gaps = np.meshgrid(np.linspace(-1, 1, 41), np.linspace(-1, 0, 21), indexing="ij")
    p = probability(np.stack([cosines.ravel(), gaps.ravel()], 1), config).reshape(cosines.shape)
    assert ((p >= 0) & (p <= 1)).all()
    assert (np.diff(p, axis=0) >= 0).all() and (np.diff(p, axis=1) >= 0).all()
    assert p.min() < 0.01 and p.max() > 0.8  # it spans the range, not a constant


def test_features_the_best_video_trails_nobody_and_one_video_alone_neither():
    rows = video_features(np.array([0.2, 0.8, 0.5]), np.array([0.1, 0.6, 0.3]))
    np.testing.assert_allclose(rows[:, 1], [-1.0, 0.0, -0.5])
    np.testing.assert_allclose(rows[:, 0], [0.1, 0.6, 0.3])
    np.testing.assert_allclose(video_features(np.array([0.7]), np.array([0.4]))[:, 1], [0.0])
