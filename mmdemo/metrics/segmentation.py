"""Semantic segmentation metrics (Cityscapes; "pretrained vs scratch", Table 4): IoU per class
and mIoU, in percent, from one confusion matrix accumulated over every pixel of a split, as the
Cityscapes benchmark scores.
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(gold: np.ndarray, predicted: np.ndarray, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """(C, C) pixel counts, rows the gold class and columns the predicted one.

    Pixels whose gold label is ``ignore_index`` are not counted; any other label outside
    0..C-1, in either map, is an error rather than a silently dropped pixel.
    """
    gold, predicted = np.asarray(gold), np.asarray(predicted)
    if gold.shape != predicted.shape:
        raise ValueError(f"gold {gold.shape} and predicted {predicted.shape} label maps differ in shape")
    keep = gold != ignore_index
    gold, predicted = gold[keep].astype(np.int64), predicted[keep].astype(np.int64)
    for name, labels in (("gold", gold), ("predicted", predicted)):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"{name} labels must be in 0..{num_classes - 1} (or {ignore_index} in gold)")
    return np.bincount(gold * num_classes + predicted, minlength=num_classes**2).reshape(num_classes, num_classes)


def class_iou(confusion: np.ndarray) -> np.ndarray:
    """(C,) IoU = TP / (TP + FP + FN) per class, in percent; NaN for a class absent from both
    the gold and the predicted maps (nothing to score). A class predicted but never gold scores 0."""
    confusion = np.asarray(confusion, dtype=np.float64)
    hits = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - hits
    iou = np.full(len(hits), np.nan)
    np.divide(100.0 * hits, union, out=iou, where=union > 0)
    return iou


def mean_iou(confusion: np.ndarray) -> float:
    """mIoU in percent: the mean of ``class_iou`` over the classes it scores (0 if none)."""
    iou = class_iou(confusion)
    scored = iou[~np.isnan(iou)]
    return float(scored.mean()) if scored.size else 0.0
