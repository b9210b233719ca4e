"""How likely a located answer is right, as a probability, and when to say there is no answer.

A candidate video's raw window scores are min-max scaled per question (``fusion``), so they rank
videos but say nothing about whether *any* video answers: "What is the capital of France?" gets a
best video with score 1 too. Two things do: how close the question sits to the video's best window
in MiniLM space (raw cosine, not rescaled) and how far the video trails the best one. A logistic
model on those two gives P(this video holds the answer); it is fitted on MedVidQA train questions
(``mmdemo.retrieval.fit``, stage 4), and below ``refuse_below`` the app answers "no answer in
these videos" instead of a span.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CalibrationConfig:
    # Logistic regression of "this is the question's video" on (best-window cosine, video-score gap),
    # over every (question, video) pair of the 49 subtitled MedVidQA train questions outside the CCGS
    # task's held-out videos (python -m mmdemo.retrieval.fit, stage 4). Both weights are positive.
    intercept: float = -1.263
    cosine_weight: float = 3.407
    gap_weight: float = 10.165
    # Refuse when the best candidate's probability is below this; chosen on the same train
    # questions as the largest threshold that refuses at most 5% of them (fit, stage 4).
    refuse_below: float = 0.65  # = a best-window cosine of about 0.56 for the top video


def video_features(video_scores: np.ndarray, video_cosines: np.ndarray) -> np.ndarray:
    """(n_videos, 2): each video's best-window cosine, and its min-max video score minus the best's (<= 0).

    One video alone trails nobody: its gap is 0.
    """
    scores = np.asarray(video_scores, dtype=np.float64)
    spread = scores.max() - scores.min() if scores.size else 0.0
    gap = (scores - scores.max()) / spread if spread > 0 else np.zeros_like(scores)
    return np.stack([np.asarray(video_cosines, dtype=np.float64), gap], axis=1)


def probability(features: np.ndarray, config: CalibrationConfig) -> np.ndarray:
    """P(right video) for each row of ``video_features``: in [0, 1], rising in both features."""
    z = config.intercept + features @ np.array([config.cosine_weight, config.gap_weight])
    return 1.0 / (1.0 + np.exp(-z))
