"""Caption augmentation for audio retrieval training (CP-JKU section 2.4.4).

While finetuning on ClothoV2_GPT the paper swaps a caption for one of its GPT rephrasings with
probability 0.3. Here the rephrasings are the variants file of the Clotho layout
(``mmdemo.data.clotho``), which the synthetic generator writes too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from mmdemo.data.clotho import AudioCaptionItem


@dataclass(frozen=True)
class AugmentConfig:
    # Paper 2.4.4 (ClothoV2_GPT) and 2.6: while finetuning, a caption is swapped for one of
    # its GPT rephrasings with probability 0.3.
    swap_probability: float = 0.3

    def __post_init__(self) -> None:
        if not 0.0 <= self.swap_probability <= 1.0:
            raise ValueError(f"swap_probability must be in [0, 1], got {self.swap_probability}")


@dataclass(frozen=True)
class CaptionAugmenter:
    """Swap a caption for one of its rephrasings with the configured probability (paper 2.4.4).

    The draw comes from ``rng``: a ``random.Random``, or a seed such as ``f"{seed}:{epoch}:{index}"``
    so that the same item in the same epoch is augmented the same way in every worker and on resume.
    """

    config: AugmentConfig = field(default_factory=AugmentConfig)

    def __call__(self, item: AudioCaptionItem, caption: str, rng: random.Random | int | str) -> str:
        options = item.variants.get(caption, ())
        if not options:
            return caption
        if not isinstance(rng, random.Random):
            rng = random.Random(rng)
        if rng.random() >= self.config.swap_probability:
            return caption
        return rng.choice(options)
