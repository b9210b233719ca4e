"""Losses more than one model trains with."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def symmetric_cross_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP's loss; NT-Xent in CP-JKU's section 2): the mean of the row-wise and the
    column-wise cross-entropy of an (N, N) scaled similarity matrix whose matching pairs are on the diagonal."""
    targets = torch.arange(logits.shape[0], device=logits.device)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2
