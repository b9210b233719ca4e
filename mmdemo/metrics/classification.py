"""Classification metrics (scene classification, DCASE 2021 task 1B; Okazaki et al., Tables 2 and 4):
log-loss, accuracy in percent, and F1 per class (which the ensemble's class-wise selection is fitted by).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def normalize_rows(probs: np.ndarray) -> np.ndarray:
    """Rows rescaled to sum to 1; an all-zero row becomes uniform."""
    sums = probs.sum(axis=1, keepdims=True)
    return np.where(sums > 0, probs / np.where(sums > 0, sums, 1.0), 1.0 / probs.shape[1])


def per_class_f1(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(C,) F1 of each class from predicted and true class indices (0 where a class never occurs)."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    classes = np.arange(num_classes)[:, None]
    true_pos = ((predicted == classes) & (labels == classes)).sum(axis=1)
    denominator = (predicted == classes).sum(axis=1) + (labels == classes).sum(axis=1)
    return np.where(denominator > 0, 2 * true_pos / np.maximum(denominator, 1), 0.0)


def log_loss(probs: np.ndarray, labels: Sequence[int] | np.ndarray, eps: float = 1e-15) -> float:
    """Mean -log p(true class), the DCASE 2021 task 1B metric; rows are rescaled to sum to 1
    and clipped to [eps, 1 - eps] first, as sklearn's log_loss does."""
    p = np.clip(normalize_rows(np.asarray(probs, dtype=np.float64)), eps, 1 - eps)
    labels = np.asarray(labels)
    return float(-np.log(p[np.arange(len(labels)), labels]).mean())


def accuracy(probs: np.ndarray, labels: Sequence[int] | np.ndarray) -> float:
    """Share of clips whose highest-probability class is the true one, in percent."""
    return 100.0 * float(np.mean(np.asarray(probs).argmax(axis=1) == np.asarray(labels)))
