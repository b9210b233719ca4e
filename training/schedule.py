"""The learning-rate schedule: a pure function of the optimizer step (nanoGPT's get_lr).

Because the rate depends on nothing but the step, "the scheduler's state" is the step count,
and a resumed run picks the schedule up exactly where it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def warmup_steps(total_steps: int, warmup_steps: int, warmup_ratio: float) -> int:
    """Explicit ``warmup_steps`` win; otherwise ``warmup_ratio`` of all steps."""
    return warmup_steps if warmup_steps > 0 else int(round(warmup_ratio * total_steps))


def lr_factor(step: int, total_steps: int, warmup: int, schedule: str, min_ratio: float = 0.0,
              milestones: Sequence[int] = (), gamma: float = 0.1, power: float = 0.9) -> float:
    """Multiplier on the peak lr for optimizer step ``step`` (0-based; the step about to be taken).

    Linear warmup from 1/warmup to 1 over ``warmup`` steps, then ``schedule``:
    ``constant`` stays at 1, ``linear``, ``cosine`` and ``poly`` (``(1 - progress) ** power``)
    decay to ``min_ratio`` at ``total_steps``, ``step`` is multiplied by ``gamma`` once for every
    milestone step already reached. Poly is eq. 1 of "pretrained vs scratch" (HRNet part, section
    3.1.2), written there per epoch; like HRNet's own trainer, it is applied here per optimizer step.
    """
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    if schedule == "step":
        return gamma ** sum(step >= milestone for milestone in milestones)
    decay_steps = max(1, total_steps - warmup)
    progress = min(1.0, (step - warmup) / decay_steps)
    if schedule == "linear":
        shape = 1.0 - progress
    elif schedule == "cosine":
        shape = 0.5 * (1.0 + math.cos(math.pi * progress))
    elif schedule == "poly":
        shape = (1.0 - progress) ** power
    else:
        raise ValueError(f"Unknown schedule {schedule!r}.")
    return min_ratio + (1.0 - min_ratio) * shape
