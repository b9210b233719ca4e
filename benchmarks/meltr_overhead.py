"""Training step time of MELTR against multi-task learning (the plain sum), in one run.

MELTR reports +4.9 % training time over MTL (section 5.2). Here one captioner
(``training/configs/caption_synthetic.yaml``, with MELTR's meta-data synthetic) trains on
synthetic batches (random frame features, templated captions and transcripts). A step is what
the trainer does per batch: ``CaptionTask.compute_losses``, the backward pass, gradient clipping
and the AdamW step. With MELTR, one batch in K carries AID-FP-Lite's meta step; the others cost
what an MTL step costs plus MELTR's forward. Each round times, on the same batch and in an order
that rotates (so that machine load falls on all three), one MTL step (the task's combiner set to
the plain sum for it), one ordinary MELTR step and one MELTR step with the meta step (the task's
batch counter set so that it falls there). All three use the same model and optimizer objects:
two copies of the model time differently by a few per cent whichever combiner they have (where
their memory lies), which would swamp the difference measured here. After ``--warmup`` rounds,
``--rounds`` are timed; MELTR's cost per step is amortised over K from the medians:
((K - 1) * ordinary + meta) / K.

    python benchmarks/meltr_overhead.py [--rounds 15] [--warmup 1] [--set task.aid.inner_steps=10 ...]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmdemo.config import set_offline_environment

set_offline_environment()

import numpy as np
import torch
from timing import ms

from training.config import TrainConfig
from training.config_io import apply, deep_merge, nest, parse_override, read_config_file
from training.aid_fp_lite import LossCombiner
from training.tasks.caption import CaptionClips, CaptionTask, CaptionTaskConfig, Clip
from training.trainer import build_optimizer

CONFIG = ROOT / "training" / "configs" / "caption_synthetic.yaml"
PAPER_OVERHEAD = 0.049  # MELTR section 5.2: +4.9 % training time over MTL
COLOURS, SHAPES = ("red", "blue", "green", "yellow"), ("circle", "square", "triangle")


def make_clips(config: CaptionTaskConfig, count: int, seed: int) -> list[tuple[Clip, str]]:
    """(clip, caption) pairs: random frame features, a templated caption, a transcript naming its colour."""
    rng, nprng = random.Random(seed), np.random.default_rng(seed)
    c = config.model
    items = []
    for _ in range(count):
        colour, shape, side = rng.choice(COLOURS), rng.choice(SHAPES), rng.choice(("left", "right"))
        caption = f"a {colour} {shape} moves to the {side}"
        frames = nprng.standard_normal((c.max_frames, c.frame_dim)).astype(np.float32)
        items.append((Clip("synthetic", frames, (caption,), f"now the {colour} one will move"), caption))
    return items


def build(data: dict, train: TrainConfig) -> tuple[CaptionTask, torch.nn.Module, torch.optim.Optimizer]:
    """The MELTR task and its model as the trainer builds them; MELTR's meta-data synthetic too."""
    config = apply(CaptionTaskConfig(), {**data.get("task", {}), "combiner": "meltr"}, "task")
    task = CaptionTask(config)
    torch.manual_seed(train.seed)
    model = task.build_model("pretrained")
    task.meta_set = CaptionClips([clip for clip, _ in make_clips(config, 4 * config.meta_batch_size, seed=1)], seed=0)
    return task, model, build_optimizer(task.param_groups(model, train), train)


def step(task: CaptionTask, model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch, clip: float,
         combiner: LossCombiner, meta: bool) -> float:
    """One trainer step minimising ``combiner``; with ``meta`` the task's batch counter is set so
    that this batch carries the meta step (which runs only when ``combiner`` is MELTR's)."""
    k = task.config.aid.inner_steps
    task.batches = k - 1 if meta else k  # compute_losses adds one, then meta-steps on multiples of K
    task.combiner = combiner
    start = time.perf_counter()
    losses = task.compute_losses(model, batch)
    losses["loss"].backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (an MTL, an ordinary and a meta step each)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="override the bundled config, as python -m training's --set")
    args = parser.parse_args()
    data = read_config_file(CONFIG)
    for text in args.set:
        data = deep_merge(data, nest(*parse_override(text)))
    train = apply(TrainConfig(), data.get("train", {}), "train")
    task, model, optimizer = build(data, train)
    k = task.config.aid.inner_steps
    items = make_clips(task.config, (args.warmup + args.rounds) * train.batch_size, seed=0)
    batches = [task.collate(items[i : i + train.batch_size]) for i in range(0, len(items), train.batch_size)]
    kinds = {"mtl": (LossCombiner("mtl"), False), "ordinary": (task.combiner, False), "meta": (task.combiner, True)}
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for index in range(args.warmup + args.rounds):
        for offset in range(3):
            kind = list(kinds)[(index + offset) % 3]
            seconds = step(task, model, optimizer, batches[index], train.clip_grad_norm, *kinds[kind])  # one batch a round
            if index >= args.warmup:
                times[kind].append(seconds)
    mtl, plain, meta = (statistics.median(times[kind]) for kind in kinds)
    amortised = ((k - 1) * plain + meta) / k
    print(json.dumps({
        "benchmark": "meltr_overhead", "config": str(CONFIG.relative_to(ROOT)), "overrides": args.set,
        "batch_size": train.batch_size, "inner_steps_K": k, "meta_batch_size": task.config.meta_batch_size,
        "meta_params": list(task.config.meta_params) or "all", "timed_rounds": args.rounds,
        "threads": torch.get_num_threads(), "load": [round(x, 2) for x in os.getloadavg()],
        "mtl_step_ms": ms(mtl), "meltr_step_ms": {"ordinary": ms(plain), "meta": ms(meta), "amortised": ms(amortised)},
        "meta_step_extra_steps": round((meta - plain) / mtl, 3),
        "overhead_amortised": round(amortised / mtl - 1, 4),
        "overhead_ordinary_steps": round(plain / mtl - 1, 4),
        "paper_overhead": PAPER_OVERHEAD,
    }))


if __name__ == "__main__":
    main()
