"""CCGS training throughput on CPU: one process against two (torchrun, gloo), same global batch.

Writes a small synthetic MedVidQA-layout dataset (``training.data.synthetic_qa``: train and val
splits) to a temporary folder, then trains CCGS with the bundled config
(``training/configs/ccgs_medvidqa.yaml``: batch size 2 questions x (1 + M) videos, the top two
MiniLM layers fine-tuned, pretrained MiniLM) for one short epoch, once as
``python -m training ccgs`` (batch_size 2) and once as ``torchrun --nproc_per_node 2 -m training
ccgs`` (batch_size 1 per process: the same global batch, the same optimizer steps). Runs
alternate (``--repeats``) so machine load falls on both. Throughput is the trainer's own
``samples_per_second`` from ``<out>/summary.json`` (questions per second over the optimizer
steps only: model loading, evaluation, checkpoints and exports are not in it).

Threads: the one-process run uses torch's default (one thread per core); torchrun sets
OMP_NUM_THREADS=1 per process when it starts several, so both settings use the same cores.
A third run, one process with OMP_NUM_THREADS=1 (``1_process_1_thread``), separates what the
second process buys from what intra-op threading costs: on a busy machine a multi-threaded op
waits for its slowest thread, and a thread preempted by another job stalls the whole op.

    python benchmarks/ccgs_training.py [--questions 16] [--epochs 1] [--repeats 1] [--procs 2]

About 3 minutes with the defaults on 2 cores (three runs of ~25-70 s each, model loading included).

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmdemo.config import set_offline_environment  # noqa: E402

set_offline_environment()

import torch  # noqa: E402

from training.data.synthetic_qa import generate, write_medvidqa_layout  # noqa: E402

CONFIG = ROOT / "training" / "configs" / "ccgs_medvidqa.yaml"
GLOBAL_BATCH = 2  # the bundled config's train.batch_size (section 3: batch size 2)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def write_dataset(root: Path, questions: int, val_videos: int, seed: int) -> dict:
    """Train videos until there are ``questions`` questions (trimmed to exactly that many)."""
    videos, qs, n = [], [], 2
    while len(qs) < questions:
        videos, qs = generate(n, seed=seed, prefix="train_")
        n += 1
    qs = qs[:questions]
    used = {q.video_id for q in qs}
    write_medvidqa_layout(root, videos, qs, "train")  # unasked videos stay: they are negatives
    val_v, val_q = generate(val_videos, seed=seed + 1, prefix="val_")
    write_medvidqa_layout(root, val_v, val_q, "val")
    sentences = [len(v.captions) for v in videos]
    return {"train_questions": len(qs), "train_videos": len(videos), "asked_videos": len(used),
            "sentences_per_video": [min(sentences), max(sentences)]}


def train_once(data: Path, out: Path, procs: int, epochs: int, timeout: float, threads: int | None = None) -> dict:
    per_process = GLOBAL_BATCH // procs
    common = ["ccgs", "--data", str(data), "--out", str(out), "--config", str(CONFIG), "--device", "cpu",
              "--epochs", str(epochs), "--set", f"train.batch_size={per_process}",
              # no val pass (not part of throughput); no synthetic mix (a fixed workload)
              "--set", "train.eval_every_epoch=0", "--set", "task.synthetic_videos=0"]
    if procs == 1:
        cmd = [sys.executable, "-m", "training", *common]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(procs),
               "-m", "training", *common]
    env = dict(os.environ, PYTHONPATH=str(ROOT), TQDM_DISABLE="1")
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    summary = json.loads((out / "summary.json").read_text())
    return {"samples_per_second": summary["samples_per_second"], "train_seconds": summary["train_seconds"],
            "steps": summary["step"], "wall_s": round(wall, 1), "ranks_in_sync": summary["ranks_in_sync"],
            "world_size": summary["world_size"]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="CCGS training throughput, 1 vs N CPU processes")
    parser.add_argument("--questions", type=int, default=16, help="train questions (one epoch = questions / 2 steps)")
    parser.add_argument("--val-videos", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1, help="alternating 1-process / N-process runs")
    parser.add_argument("--procs", type=int, default=2, help="processes of the torchrun run (divides batch 2)")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds one training run may take")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if GLOBAL_BATCH % args.procs:
        parser.error(f"--procs must divide the global batch {GLOBAL_BATCH}")

    load_before = load()
    names = {"1": (1, None), "1_thread": (1, 1), str(args.procs): (args.procs, None)}
    runs: dict[str, list[dict]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        dataset = write_dataset(data, args.questions, args.val_videos, args.seed)
        for repeat in range(args.repeats):
            for name, (procs, threads) in names.items():
                out = Path(tmp) / f"run_{name}_{repeat}"
                runs[name].append(train_once(data, out, procs, args.epochs, args.timeout, threads))
                shutil.rmtree(out, ignore_errors=True)

    def median(name: str) -> float:
        return statistics.median(r["samples_per_second"] for r in runs[name])

    one, one_thread, many = median("1"), median("1_thread"), median(str(args.procs))
    return {
        "benchmark": "ccgs_training",
        "cpu_count": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": load(),
        "config": str(CONFIG.relative_to(ROOT)),
        "global_batch": GLOBAL_BATCH,
        "epochs": args.epochs,
        "dataset": dataset,
        "torch_threads_1_process": torch.get_num_threads(),
        "samples_per_second_median": {"1_process": one, "1_process_1_thread": one_thread,
                                      f"{args.procs}_processes": many},
        f"ratio_{args.procs}proc_over_1proc": round(many / one, 2),
        f"ratio_{args.procs}proc_over_1proc_1thread": round(many / one_thread, 2),
        "runs": runs,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
