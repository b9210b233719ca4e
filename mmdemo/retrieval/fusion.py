"""Combining lexical and semantic scores.

BM25 scores are unbounded and query-dependent, cosine scores live in [-1, 1]; neither is
comparable to the other as is. ``weighted_sum`` min-max normalises each list over the same
documents to [0, 1] and mixes them with weight ``w`` on the dense side (used by the index).
"""

from __future__ import annotations

import numpy as np


def minmax(scores: np.ndarray) -> np.ndarray:
    """Map to [0, 1]; a constant list maps to zeros (it says nothing about relevance)."""
    scores = np.asarray(scores, dtype=np.float32)
    if scores.size == 0:
        return scores
    lo, hi = float(scores.min()), float(scores.max())
    return (scores - lo) / (hi - lo) if hi > lo else np.zeros_like(scores)


def weighted_sum(bm25: np.ndarray, dense: np.ndarray, dense_weight: float) -> np.ndarray:
    return (1.0 - dense_weight) * minmax(bm25) + dense_weight * minmax(dense)
