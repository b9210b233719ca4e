"""Two processes under torchrun (gloo on CPU, nccl on two GPUs): ranks stay identical and only rank 0 writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch

from mmdemo.checkpoint import load_checkpoint
from mmdemo.models.factory import load_model
from training import train_state
from training.metrics_log import read_metrics
from training.tasks.toy import ToyMLP

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_process_run(tmp_path, device):
    if device == "cuda" and torch.cuda.device_count() < 2:
        pytest.skip(f"nccl with one process per GPU needs 2 GPUs; this machine has {torch.cuda.device_count()}")
    out = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "training", "toy", "--data", str(tmp_path), "--out", str(out), "--device", device,
               "--epochs", "2", "--set", "train.batch_size=16", "--set", "train.grad_accum=2",
               "--set", "train.lr=1e-2", "--set", "train.checkpoint_every=3", "--set", "train.log_every=1",
               "--set", "task.n_train=128", "--set", "task.n_val=64"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]

    # rank 0 alone prints the summary; both ranks report their parameter hash into it
    printed = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(printed) == 1
    summary = json.loads(printed[0])
    assert summary == json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["status"] == "finished"
    assert len(summary["param_sha256_per_rank"]) == 2 and summary["ranks_in_sync"]

    # 128 items over 2 ranks = 64 each = 4 micro-batches of 16 = 2 optimizer steps per epoch
    assert summary["step"] == 4
    # one writer: one TensorBoard file, each CSV row once, no stray temporary files
    assert len(list((out / "tb").glob("events.out.tfevents.*"))) == 1
    keys = Counter((r["step"], r["split"], r["name"]) for r in read_metrics(out / "metrics.csv"))
    assert keys and max(keys.values()) == 1
    assert sorted(p.name for p in out.iterdir()) == ["checkpoints", "export", "export-final", "metrics.csv",
                                                    "run.json", "summary.json", "tb"]
    assert [p.name for p in (out / "checkpoints").iterdir()] != [] and \
        all(p.name.startswith("step-") for p in (out / "checkpoints").iterdir())
    assert train_state.load_latest(out / "checkpoints")[2]["world_size"] == 2

    checkpoint = load_checkpoint(out / "export-final")
    assert checkpoint.meta["world_size"] == 2
    assert checkpoint.meta["command"].startswith("torchrun --nproc_per_node 2 -m training toy")
    assert isinstance(load_model(out / "export-final"), ToyMLP)
