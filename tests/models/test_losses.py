"""The symmetric InfoNCE loss the audio-text encoder and the captioner share."""

import math

import pytest
import torch

from mmdemo.models.losses import symmetric_cross_entropy


def test_symmetric_cross_entropy_matches_a_hand_computation():
    logits = torch.tensor([[2.0, 0.0], [1.0, 3.0]])
    # rows (audio -> text): -log softmax of the diagonal; columns (text -> audio) likewise
    rows = -math.log(math.exp(2) / (math.exp(2) + 1)) - math.log(math.exp(3) / (math.exp(1) + math.exp(3)))
    cols = -math.log(math.exp(2) / (math.exp(2) + math.exp(1))) - math.log(math.exp(3) / (1 + math.exp(3)))
    assert float(symmetric_cross_entropy(logits)) == pytest.approx((rows / 2 + cols / 2) / 2, rel=1e-6)


def test_symmetric_cross_entropy_is_lower_when_pairs_match():
    matched = torch.eye(4) * 10
    assert float(symmetric_cross_entropy(matched)) < 1e-3 < float(symmetric_cross_entropy(matched.flip(0)))
