"""Training step time of MELTR against multi-task learning (the plain sum), in one run.

MELTR reports +4.9 % training time over MTL (section 5.2). Here both combiners train the same
captioner (``training/configs/caption_synthetic.yaml``, built twice from one seed) on the same
batches (random frame features, synthetic captions and transcripts), steps alternating between
the two so that machine load falls on both. A step is what the trainer does per batch:
``CaptionTask.compute_losses`` (with MELTR: AID-FP-Lite's meta step on every K-th batch), the
backward pass, gradient clipping and the AdamW step. After ``--warmup`` cycles of K steps each,
``--cycles`` cycles are timed; MELTR's cost is amortised over K (the mean over whole cycles).

    python benchmarks/meltr_overhead.py [--cycles 5] [--warmup 1]

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
from training.config_io import apply, read_config_file
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


def build(combiner: str, data: dict, train: TrainConfig) -> tuple[CaptionTask, torch.nn.Module, torch.optim.Optimizer]:
    """One task and model per combiner, the model drawn from the same seed; MELTR's meta-data synthetic too."""
    config = apply(CaptionTaskConfig(), {**data.get("task", {}), "combiner": combiner}, "task")
    task = CaptionTask(config)
    torch.manual_seed(train.seed)
    model = task.build_model("pretrained")
    task.meta_set = CaptionClips([clip for clip, _ in make_clips(config, 4 * config.meta_batch_size, seed=1)], seed=0)
    return task, model, build_optimizer(task.param_groups(model, train), train)


def step(task: CaptionTask, model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch, clip: float) -> float:
    start = time.perf_counter()
    losses = task.compute_losses(model, batch)
    losses["loss"].backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=5, help="timed cycles of K steps")
    parser.add_argument("--warmup", type=int, default=1, help="untimed cycles of K steps first")
    args = parser.parse_args()
    data = read_config_file(CONFIG)
    train = apply(TrainConfig(), data.get("train", {}), "train")
    runs = {name: build(name, data, train) for name in ("mtl", "meltr")}
    k = runs["meltr"][0].config.aid.inner_steps
    items = make_clips(runs["mtl"][0].config, k * (args.warmup + args.cycles) * train.batch_size, seed=0)
    batches = [runs["mtl"][0].collate(items[i : i + train.batch_size]) for i in range(0, len(items), train.batch_size)]
    times: dict[str, list[float]] = {"mtl": [], "meltr": []}
    for index, batch in enumerate(batches):
        for name, (task, model, optimizer) in runs.items():
            seconds = step(task, model, optimizer, batch, train.clip_grad_norm)
            if index >= k * args.warmup:
                times[name].append(seconds)
    meltr = times["meltr"]
    meta = meltr[k - 1 :: k]  # the K-th step of each cycle carries the meta step
    plain = [t for i, t in enumerate(meltr) if i % k != k - 1]
    mtl_mean, meltr_mean = statistics.mean(times["mtl"]), statistics.mean(meltr)
    print(json.dumps({
        "benchmark": "meltr_overhead", "config": str(CONFIG.relative_to(ROOT)), "batch_size": train.batch_size,
        "inner_steps_K": k, "timed_steps_each": len(meltr), "threads": torch.get_num_threads(),
        "load": [round(x, 2) for x in os.getloadavg()],
        "mtl_step_ms": {"median": ms(statistics.median(times["mtl"])), "mean": ms(mtl_mean)},
        "meltr_step_ms": {"median_plain": ms(statistics.median(plain)), "median_meta": ms(statistics.median(meta)),
                          "mean_amortised": ms(meltr_mean)},
        "overhead_amortised": round(meltr_mean / mtl_mean - 1, 4),
        "overhead_plain_steps": round(statistics.median(plain) / statistics.median(times["mtl"]) - 1, 4),
        "paper_overhead": PAPER_OVERHEAD,
    }))


if __name__ == "__main__":
    main()
