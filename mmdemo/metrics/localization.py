"""Temporal answer localisation metrics, in percent (MedVidQA; Li et al., "Learning to locate
visual answer in video corpus using question", section 3).

A question's Rank@k IoU is the best temporal IoU among its top-k predicted spans over the whole
corpus, where a span in a wrong video has IoU 0; IoU=m is the share of questions whose Rank@k IoU
is >= m, and mIoU is its mean.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

Span = tuple[str, float, float]  # (video_id, start, end)
IOU_THRESHOLDS = (0.3, 0.5, 0.7)


def temporal_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Intersection over union of two [start, end] intervals in seconds."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def best_iou(predictions: Sequence[Span], gold: Span, k: int) -> float:
    """Best IoU among the first k predicted spans; spans in another video count 0."""
    return max(
        (temporal_iou((s, e), (gold[1], gold[2])) for vid, s, e in predictions[:k] if vid == gold[0]),
        default=0.0,
    )


def iou_summary(ious: Sequence[float], thresholds: Sequence[float] = IOU_THRESHOLDS) -> dict[str, float]:
    """{"IoU=0.3": %, "IoU=0.5": %, "IoU=0.7": %, "mIoU": %} over per-question IoUs."""
    values = np.asarray(ious, dtype=np.float64)
    if values.size == 0:
        return {**{f"IoU={t}": 0.0 for t in thresholds}, "mIoU": 0.0}
    # a small tolerance so that an IoU of exactly 0.3 computed in floating point counts as 0.3
    out = {f"IoU={t}": 100.0 * float(np.mean(values >= t - 1e-9)) for t in thresholds}
    out["mIoU"] = 100.0 * float(values.mean())
    return out


def rank_k_iou(predictions: Sequence[Sequence[Span]], golds: Sequence[Span], k: int) -> dict[str, float]:
    """Rank@k IoU hit rates and mIoU over questions (predictions[i] ranked best first)."""
    if len(predictions) != len(golds):
        raise ValueError("one prediction list per gold span is needed")
    return iou_summary([best_iou(p, g, k) for p, g in zip(predictions, golds)])
