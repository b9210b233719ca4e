"""Training throughput of every task: samples per second of the one training loop on one device.

For each task, writes a small synthetic dataset (the generators in ``training.data``; caption
frame features are random, of the ViT-S-32 cache's width) to a temporary folder and trains it
with the task's bundled config (``training/configs/``) through the real trainer for
``--warmup + --steps`` optimizer steps, all in one epoch, without evaluation. Throughput comes
from the trainer's own per-step timestamps (``metrics.csv``, ``log_every`` 1): the samples of
the timed steps over their time, so model loading, data writing and the warm-up steps (cuDNN
autotuning, allocator growth) are not in it; MELTR's meta steps are, at their rate (one per
``task.aid.inner_steps`` batches, so time at least that many steps to see one). ``train.precision``
is ``auto`` (bf16 on CUDA) unless ``--precision`` says otherwise.

    python benchmarks/train_throughput.py --device cuda [--steps 10] [--warmup 2] [--tasks ccgs,caption-meltr]
    python benchmarks/train_throughput.py --device cpu --steps 2 --warmup 1 --batch-size 2   # a smoke run

Prints one JSON object: ``{device, precision, torch, tasks: {task: {samples_per_second,
batch_size, step_ms, steps}}}``. The scene fusion model is left out (its CLIP features
must be cached first).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmdemo.config import set_offline_environment  # noqa: E402

set_offline_environment()

import numpy as np  # noqa: E402
import torch  # noqa: E402

from training.__main__ import build_parser  # noqa: E402
from training.cli import resolve_run  # noqa: E402
from training.metrics_log import read_metrics  # noqa: E402
from training.trainer import fit  # noqa: E402

CONFIGS = ROOT / "training" / "configs"


def medvidqa(root: Path, items: int) -> list[str]:
    from training.data.synthetic_qa import generate, write_medvidqa_layout

    write_medvidqa_layout(root, *generate(max(2, items), seed=0, prefix="train"), "train")  # a question a video or more
    return ["ccgs", "--config", str(CONFIGS / "ccgs_medvidqa.yaml"), "--set", "task.synthetic_videos=0"]


def clotho(root: Path, items: int) -> list[str]:
    from training.data.synthetic_audio import generate_clotho

    generate_clotho(root, train=items, val=0, seed=0)
    return ["audio-retrieval", "--config", str(CONFIGS / "audio_retrieval_synthetic.yaml")]


def tau(model: str):
    def write(root: Path, items: int) -> list[str]:
        from training.data.synthetic_scenes import SynthConfig, generate

        # 4 s clips: 4 segments or ~5 frames each, three quarters of the clips in train
        generate(root, clips_per_class=max(2, math.ceil(items / 20)), config=replace(SynthConfig(), seconds=4.0))
        return ["scene", "--config", str(CONFIGS / f"scene_{model}.yaml")]
    return write


def msrvtt(combiner: str):
    def write(root: Path, items: int) -> list[str]:
        from safetensors.numpy import save_file

        from mmdemo.data.caption_annotations import read_msrvtt
        from training.data.synthetic_captions import SyntheticCaptionConfig, generate

        generate(root, train=items + items // 8 + 1, val=1,  # meta_fraction 0.1 of train is held aside
                 config=replace(SyntheticCaptionConfig(), seconds=1.0, size=32, fps=4))
        (root / "features").mkdir()
        rng = np.random.default_rng(0)
        for clip in read_msrvtt(root / "annotations.json"):
            save_file({"embeddings": rng.standard_normal((16, 384)).astype(np.float32),
                       "times": np.arange(16, dtype=np.float32) / 4},
                      str(root / "features" / f"{clip.video_id}.safetensors"), metadata={"model": "random", "pretrained": "", "seed": "0", "fps": "4.0"})
        return ["caption", "--config", str(CONFIGS / "caption_synthetic.yaml"), "--set", f"task.combiner={combiner}"]
    return write


def squad(root: Path, items: int) -> list[str]:
    from training.data.medvidqa_spans import write_dataset

    write_dataset(root, None, synthetic=items, synthetic_val=0, seed=0)
    return ["extractive-qa", "--config", str(CONFIGS / "extractive_qa.yaml")]


def streets(root: Path, items: int) -> list[str]:
    from training.data.synthetic_streets import generate

    generate(root, train=items, val=1, train_cities=2)
    return ["segmentation", "--init", "scratch", "--config", str(CONFIGS / "segmentation_synthetic.yaml")]


TASKS = {"ccgs": medvidqa, "audio-retrieval": clotho, "scene-audio": tau("audio"), "scene-frames": tau("frames"),
         "caption-meltr": msrvtt("meltr"), "caption-mtl": msrvtt("mtl"), "extractive-qa": squad, "segmentation": streets}


def throughput(name: str, work: Path, device: str, precision: str, steps: int, warmup: int, batch_size: int) -> dict:
    """Train ``name`` for warmup + steps optimizer steps; samples/s over the steps after warm-up."""
    argv = TASKS[name](work / "data", (warmup + steps) * (batch_size or 32))  # 32: the largest bundled batch
    overrides = {"precision": precision, "stop_after_steps": warmup + steps, "epochs": 10_000, "log_every": 1,
                 "checkpoint_every": 0, "eval_every_epoch": 0, **({"batch_size": batch_size} if batch_size else {})}
    argv += [arg for key, value in overrides.items() for arg in ("--set", f"train.{key}={value}")]
    run = resolve_run(build_parser().parse_args([*argv, "--data", str(work / "data"), "--out", str(work / "run"),
                                                 "--device", device]), "benchmarks/train_throughput.py")
    fit(run)
    times = {int(r["step"]): float(r["time"]) for r in read_metrics(work / "run" / "metrics.csv")
             if r["split"] == "train" and r["name"] == "loss"}
    step_seconds = (times[warmup + steps] - times[warmup]) / steps
    samples = run.train.batch_size * run.train.grad_accum
    return {"samples_per_second": round(samples / step_seconds, 2), "batch_size": samples,
            "step_ms": round(1000 * step_seconds, 1), "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto")
    parser.add_argument("--steps", type=int, default=10, help="timed optimizer steps per task")
    parser.add_argument("--warmup", type=int, default=2, help="untimed optimizer steps first")
    parser.add_argument("--batch-size", type=int, default=0, help="per step; 0: each bundled config's")
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated, of {', '.join(TASKS)}")
    args = parser.parse_args()
    if args.steps < 1 or args.warmup < 1:
        parser.error("--steps and --warmup must be at least 1 (a step's time runs from the previous step's log)")
    results = {}
    for name in args.tasks.split(","):
        with tempfile.TemporaryDirectory(prefix=f"throughput-{name}-") as work:
            results[name] = throughput(name, Path(work), args.device, args.precision, args.steps, args.warmup,
                                       args.batch_size)
    print(json.dumps({"device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
                      "precision": args.precision, "torch": torch.__version__, "tasks": results}))


if __name__ == "__main__":
    main()
