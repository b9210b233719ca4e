from __future__ import annotations

import random
from pathlib import Path

import pytest

from mmdemo.data.clotho import AudioCaptionItem
from training.data.caption_augment import AugmentConfig, CaptionAugmenter

ITEM = AudioCaptionItem(Path("a.wav"), ("A dog barks.", "Rain."), {"A dog barks.": ("A hound barks.", "Barking dog.")})


def test_augmenter_swaps_at_the_configured_rate():
    augmenter = CaptionAugmenter()
    outputs = [augmenter(ITEM, "A dog barks.", f"0:{epoch}:{index}") for epoch in range(5) for index in range(2000)]
    swapped = [text for text in outputs if text != "A dog barks."]
    assert abs(len(swapped) / len(outputs) - 0.3) < 0.02
    assert set(swapped) == {"A hound barks.", "Barking dog."}
    assert all(augmenter(ITEM, "Rain.", seed) == "Rain." for seed in range(100))  # no variants: unchanged
    always, never = CaptionAugmenter(AugmentConfig(1.0)), CaptionAugmenter(AugmentConfig(0.0))
    assert all(always(ITEM, "A dog barks.", seed) != "A dog barks." for seed in range(100))
    assert all(never(ITEM, "A dog barks.", seed) == "A dog barks." for seed in range(100))


def test_augmenter_is_a_function_of_its_seed():
    augmenter = CaptionAugmenter()
    first = [augmenter(ITEM, "A dog barks.", f"7:1:{index}") for index in range(200)]
    assert first == [augmenter(ITEM, "A dog barks.", f"7:1:{index}") for index in range(200)]
    assert first != [augmenter(ITEM, "A dog barks.", f"7:2:{index}") for index in range(200)]
    assert augmenter(ITEM, "A dog barks.", random.Random(5)) == augmenter(ITEM, "A dog barks.", 5)


def test_swap_probability_must_be_a_probability():
    with pytest.raises(ValueError, match="swap_probability"):
        AugmentConfig(1.5)
