"""The training loop on the toy task: schedule, state round trips, atomic checkpoints, exact resume."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from training import train_state
from training.__main__ import main
from training.metrics_log import read_metrics
from training.schedule import lr_factor, warmup_steps

REPO = Path(__file__).resolve().parents[2]

# 96 items / batch 16 = 6 micro-batches per epoch, grad_accum 2 -> 3 optimizer steps per epoch,
# 9 in all; checkpoints every 2 steps land mid-epoch, as do train-log windows (every 2 steps).
# Dropout makes the RNG state matter.
TOY = ["--device", "cpu", "--epochs", "3", "--init", "scratch",
       "--set", "train.batch_size=16", "--set", "train.grad_accum=2", "--set", "train.lr=1e-2",
       "--set", "train.warmup_steps=2", "--set", "train.checkpoint_every=2", "--set", "train.log_every=2",
       "--set", "task.n_train=96", "--set", "task.n_val=64", "--set", "task.model.dropout=0.2",
       "--set", "task.sleep_per_batch=0.03"]


def toy_args(out: Path, *extra: str) -> list[str]:
    return ["toy", "--data", str(out.parent), "--out", str(out), *TOY, *extra]


def weights(run_dir: Path, export: str = "export-final") -> dict[str, torch.Tensor]:
    return load_file(str(run_dir / export / "model.safetensors"))


def assert_same_tensors(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        assert torch.equal(a[name], b[name]), name


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """One uninterrupted run that the resumed runs must reproduce bit for bit."""
    out = tmp_path_factory.mktemp("reference") / "run"
    summary = main(toy_args(out))
    assert summary["status"] == "finished" and summary["step"] == 9
    return out


# -- pieces -------------------------------------------------------------------------------------


def test_schedule_warms_up_then_decays():
    total, warm = 100, warmup_steps(100, 0, 0.1)
    assert warm == 10
    factors = [lr_factor(step, total, warm, "cosine", 0.1) for step in range(total)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[9:], factors[10:]))  # monotone decay after warmup
    assert factors[-1] == pytest.approx(0.1, abs=1e-3)
    assert lr_factor(50, total, warm, "constant") == 1.0
    assert lr_factor(55, total, warm, "linear") == pytest.approx(0.5)


def test_step_schedule_divides_at_each_milestone():
    factors = [lr_factor(step, 40, 0, "step", milestones=[10, 20, 30], gamma=0.1) for step in range(40)]
    assert factors[:10] == [1.0] * 10
    assert factors[10] == pytest.approx(0.1) and factors[19] == pytest.approx(0.1)
    assert factors[20] == pytest.approx(0.01) and factors[39] == pytest.approx(0.001)
    assert lr_factor(0, 40, 4, "step", milestones=[10]) == pytest.approx(0.25)  # warmup comes first
    assert lr_factor(25, 40, 0, "step", milestones=[10, 20], gamma=0.5) == pytest.approx(0.25)


def test_sgd_with_step_schedule_follows_the_paper_recipe_and_resumes_exactly(tmp_path):
    """SGD with momentum, lr divided by 10 at epochs 1 and 2: the lr log shows each drop at its
    epoch, the optimizer state holds momentum buffers, and a stopped run resumes bit for bit."""
    sgd = ["--set", "train.optimizer=sgd", "--set", "train.momentum=0.9", "--set", "train.schedule=step",
           "--set", "train.step_epochs=[1, 2]", "--set", "train.step_gamma=0.1", "--set", "train.lr=0.1",
           "--set", "train.warmup_steps=0", "--set", "train.weight_decay=1e-4"]
    reference = tmp_path / "reference"
    assert main(toy_args(reference, *sgd))["status"] == "finished"
    rows = read_metrics(reference / "metrics.csv")
    lr_by_epoch = {int(r["epoch"]): float(r["value"]) for r in rows if r["split"] == "train" and r["name"] == "lr"}
    assert lr_by_epoch == pytest.approx({0: 0.1, 1: 0.01, 2: 0.001})
    _, tensors, info = train_state.load_latest(reference / "checkpoints")
    assert any(name.endswith(".momentum_buffer") for name in tensors)
    assert {group["momentum"] for group in info["optimizer"]["param_groups"]} == {0.9}
    assert {group["weight_decay"] for group in info["optimizer"]["param_groups"]} == {1e-4, 0.0}

    out = tmp_path / "run"
    assert main(toy_args(out, *sgd, "--set", "train.stop_after_steps=4"))["status"] == "stopped"
    assert main(toy_args(out, *sgd, "--resume"))["status"] == "finished"
    assert_same_tensors(weights(out), weights(reference))


def test_optimizer_state_round_trips_without_pickle():
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1, betas=(0.8, 0.9))
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    tensors, info = train_state.flatten_optimizer(optimizer.state_dict())
    restored = train_state.unflatten_optimizer(tensors, info)
    fresh = torch.optim.AdamW(torch.nn.Linear(3, 2).parameters(), lr=0.5)
    fresh.load_state_dict(restored)
    original = optimizer.state_dict()
    assert fresh.state_dict()["param_groups"] == original["param_groups"]
    for index, entries in original["state"].items():
        for key, value in entries.items():
            assert torch.equal(fresh.state_dict()["state"][index][key], value)


def test_rng_state_round_trips():
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    random.gauss(0, 1)  # leaves a cached gaussian in python's state
    tensors, info = train_state.capture_rng(torch.device("cpu"))
    expected = (random.random(), random.gauss(0, 1), np.random.rand(), np.random.randn(), torch.rand(2))
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    train_state.restore_rng(tensors, info, torch.device("cpu"))
    again = (random.random(), random.gauss(0, 1), np.random.rand(), np.random.randn(), torch.rand(2))
    assert expected[:4] == again[:4] and torch.equal(expected[4], again[4])
    assert all(t.dtype == torch.uint8 for t in tensors.values())


def test_crash_mid_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    root = tmp_path / "checkpoints"
    train_state.save_state(root, 1, {"w": torch.ones(3)}, {"step": 1})

    def dies_halfway(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\x00" * 7)  # a torn file, then the process "dies"
        raise KeyboardInterrupt

    monkeypatch.setattr(train_state, "save_file", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        train_state.save_state(root, 2, {"w": torch.zeros(3)}, {"step": 2})
    path, tensors, info = train_state.load_latest(root)
    assert path.name == "step-00000001" and info["step"] == 1 and torch.equal(tensors["w"], torch.ones(3))

    # a kill -9 leaves its staging directory behind: ignored by readers, swept by the next save
    (root / ".tmp-step-00000002-999999").mkdir()
    (root / ".tmp-step-00000002-999999" / train_state.INFO_FILE).write_text("{")
    assert [p.name for p in train_state.list_states(root)] == ["step-00000001"]
    monkeypatch.undo()
    train_state.save_state(root, 3, {"w": torch.full((3,), 3.0)}, {"step": 3}, keep=2)
    assert sorted(p.name for p in root.iterdir()) == ["step-00000001", "step-00000003"]

    # a checkpoint damaged later (disk trouble) is skipped in favour of the one before it
    (root / "step-00000003" / train_state.TENSORS_FILE).write_bytes(b"garbage")
    assert train_state.load_latest(root)[2]["step"] == 1


# -- whole runs ---------------------------------------------------------------------------------


def test_run_logs_and_exports(reference):
    rows = read_metrics(reference / "metrics.csv")
    train_loss = [float(r["value"]) for r in rows if r["split"] == "train" and r["name"] == "loss"]
    assert len(train_loss) == 6 and train_loss[-1] < train_loss[0]  # steps 2, 3 (epoch end), 4, 6, 8, 9
    val = [r for r in rows if r["split"] == "val"]
    assert {r["name"] for r in val} == {"loss", "accuracy"} and len(val) == 6
    assert [p.name for p in train_state.list_states(reference / "checkpoints")] == ["step-00000009", "step-00000008"]
    assert (reference / "export" / "model.safetensors").is_file()
    assert list((reference / "tb").glob("events.out.tfevents.*"))


def test_resume_after_stop_is_bit_identical(reference, tmp_path):
    out = tmp_path / "run"
    stopped = main(toy_args(out, "--set", "train.stop_after_steps=5"))  # mid-epoch (epoch 1, 4 of 6 batches)
    assert stopped["status"] == "stopped" and stopped["step"] == 5
    assert not (out / "export-final").exists()
    resumed = main(toy_args(out, "--resume"))
    assert resumed["status"] == "finished" and resumed["step"] == 9
    assert_same_tensors(weights(out), weights(reference))
    assert_same_tensors(weights(out, "export"), weights(reference, "export"))
    # optimizer moments and RNG states too, not just the weights
    assert_same_tensors(train_state.load_latest(out / "checkpoints")[1],
                        train_state.load_latest(reference / "checkpoints")[1])
    strip = lambda rows: [(r["step"], r["epoch"], r["split"], r["name"], r["value"]) for r in rows]  # noqa: E731
    assert strip(read_metrics(out / "metrics.csv")) == strip(read_metrics(reference / "metrics.csv"))


def test_kill_9_then_resume_is_bit_identical(reference, tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "training", *toy_args(out)], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while not train_state.list_states(out / "checkpoints"):
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.01)
        time.sleep(0.05)  # land somewhere inside the next steps, possibly mid-write
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (out / "export-final").exists()
    path, _, info = train_state.load_latest(out / "checkpoints")
    assert 0 < info["step"] < 9
    resumed = main(toy_args(out, "--resume"))
    assert resumed["status"] == "finished"
    assert_same_tensors(weights(out), weights(reference))
