"""The training loop on the toy task: schedule, state round trips, atomic and verified checkpoints,
exact resume, damaged checkpoints."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from training import train_state
from training.__main__ import main
from training.metrics_log import read_metrics
from training.schedule import lr_factor, warmup_steps

REPO = Path(__file__).resolve().parents[2]

# 96 items / batch 16 = 6 micro-batches per epoch, grad_accum 2 -> 3 optimizer steps per epoch,
# 9 in all; checkpoints every 2 steps land mid-epoch, as do train-log windows (every 2 steps).
# Dropout makes the RNG state matter.
TOY = ["--epochs", "3", "--init", "scratch",
       "--set", "train.batch_size=16", "--set", "train.grad_accum=2", "--set", "train.lr=1e-2",
       "--set", "train.warmup_steps=2", "--set", "train.checkpoint_every=2", "--set", "train.log_every=2",
       "--set", "task.n_train=96", "--set", "task.n_val=64", "--set", "task.model.dropout=0.2",
       "--set", "task.sleep_per_batch=0.03"]


def toy_args(out: Path, *extra: str, device: str) -> list[str]:
    return ["toy", "--data", str(out.parent), "--out", str(out), "--device", device, *TOY, *extra]


def weights(run_dir: Path, export: str = "export-final") -> dict[str, torch.Tensor]:
    return load_file(str(run_dir / export / "model.safetensors"))


def assert_same_tensors(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        assert torch.equal(a[name], b[name]), name


def state_info(step: int) -> dict:
    """A state.json body that fits train_state.SCHEMA, for tests that call save_state directly."""
    _, rng = train_state.capture_rng(torch.device("cpu"))
    return {"format": 1, "task": "toy", "step": step, "epoch": 0, "batches_done": step, "best": None,
            "last_metrics": {}, "csv_rows": 0, "world_size": 1, "config": {"train": {}, "task": {}},
            "optimizer": {"param_groups": [], "scalars": {}, "indices": []}, "rng": [rng],
            "log_window": [{"steps": 0, "sums": []}], "task_state": {}}


def flip_bytes(path: Path) -> None:
    """Invert a few bytes in the middle of a safetensors file's data (its header stays valid)."""
    data = bytearray(path.read_bytes())
    start = 8 + int.from_bytes(data[:8], "little")
    middle = start + (len(data) - start) // 2
    data[middle:middle + 4] = bytes(b ^ 0xFF for b in data[middle:middle + 4])
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def reference(tmp_path_factory, device) -> Path:
    """One uninterrupted run that the resumed runs must reproduce bit for bit."""
    out = tmp_path_factory.mktemp("reference") / "run"
    summary = main(toy_args(out, device=device))
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


def test_sgd_with_step_schedule_follows_the_paper_recipe_and_resumes_exactly(tmp_path, device):
    """SGD with momentum, lr divided by 10 at epochs 1 and 2: the lr log shows each drop at its
    epoch, the optimizer state holds momentum buffers, and a stopped run resumes bit for bit."""
    sgd = ["--set", "train.optimizer=sgd", "--set", "train.momentum=0.9", "--set", "train.schedule=step",
           "--set", "train.step_epochs=[1, 2]", "--set", "train.step_gamma=0.1", "--set", "train.lr=0.1",
           "--set", "train.warmup_steps=0", "--set", "train.weight_decay=1e-4"]
    reference = tmp_path / "reference"
    assert main(toy_args(reference, *sgd, device=device))["status"] == "finished"
    rows = read_metrics(reference / "metrics.csv")
    lr_by_epoch = {int(r["epoch"]): float(r["value"]) for r in rows if r["split"] == "train" and r["name"] == "lr"}
    assert lr_by_epoch == pytest.approx({0: 0.1, 1: 0.01, 2: 0.001})
    _, tensors, info = train_state.load_latest(reference / "checkpoints")
    assert any(name.endswith(".momentum_buffer") for name in tensors)
    assert {group["momentum"] for group in info["optimizer"]["param_groups"]} == {0.9}
    assert {group["weight_decay"] for group in info["optimizer"]["param_groups"]} == {1e-4, 0.0}

    out = tmp_path / "run"
    assert main(toy_args(out, *sgd, "--set", "train.stop_after_steps=4", device=device))["status"] == "stopped"
    assert main(toy_args(out, *sgd, "--resume", device=device))["status"] == "finished"
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
    train_state.save_state(root, 1, {"w": torch.ones(3)}, state_info(1))

    def dies_halfway(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\x00" * 7)  # a torn file, then the process "dies"
        raise KeyboardInterrupt

    monkeypatch.setattr(train_state, "save_file", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        train_state.save_state(root, 2, {"w": torch.zeros(3)}, state_info(2))
    path, tensors, info = train_state.load_latest(root)
    assert path.name == "step-00000001" and info["step"] == 1 and torch.equal(tensors["w"], torch.ones(3))

    # a kill -9 leaves its staging directory behind: ignored by readers, swept by the next save
    (root / ".tmp-step-00000002-999999").mkdir()
    (root / ".tmp-step-00000002-999999" / train_state.INFO_FILE).write_text("{")
    assert [p.name for p in train_state.list_states(root)] == ["step-00000001"]
    monkeypatch.undo()
    train_state.save_state(root, 3, {"w": torch.full((3,), 3.0)}, state_info(3), keep=2)
    assert sorted(p.name for p in root.iterdir()) == ["step-00000001", "step-00000003"]

    # a checkpoint damaged later (disk trouble) is skipped in favour of the one before it
    (root / "step-00000003" / train_state.TENSORS_FILE).write_bytes(b"garbage")
    assert train_state.load_latest(root)[2]["step"] == 1


def test_pruning_counts_only_checkpoints_that_verify(tmp_path):
    root = tmp_path / "checkpoints"
    for step in (1, 2, 3):
        train_state.save_state(root, step, {"w": torch.full((3,), float(step))}, state_info(step), keep=3)
    flip_bytes(root / "step-00000003" / train_state.TENSORS_FILE)
    damaged = train_state.save_state(root, 4, {"w": torch.full((3,), 4.0)}, state_info(4), keep=2)
    # the newest good other one (2) is kept, not the damaged 3; 3 is set aside for a person, not deleted
    assert sorted(p.name for p in root.iterdir()) == ["step-00000002", "step-00000003.damaged", "step-00000004"]
    assert [(e.path.name, e.moved_to.name) for e in damaged] == [("step-00000003", "step-00000003.damaged")]
    assert "sha256" in damaged[0].reason

    # damaged checkpoints with higher step numbers (a run restarted below them) never push out the new one
    other = tmp_path / "other"
    for step in (8, 9):
        train_state.save_state(other, step, {"w": torch.ones(3)}, state_info(step))
        (other / f"step-{step:08d}" / train_state.INFO_FILE).write_text("{")
    train_state.save_state(other, 2, {"w": torch.ones(3)}, state_info(2), keep=2)
    assert sorted(p.name for p in other.iterdir()) == ["step-00000002", "step-00000008.damaged",
                                                       "step-00000009.damaged"]


def test_nothing_is_pruned_unless_the_new_checkpoint_verifies(tmp_path):
    root = tmp_path / "checkpoints"
    for step in (1, 2):
        train_state.save_state(root, step, {"w": torch.ones(3)}, state_info(step))
    with pytest.raises(train_state.DamagedState, match="step-00000003: tensor 'w' has 1 non-finite"):
        train_state.save_state(root, 3, {"w": torch.tensor([1.0, float("nan"), 1.0])}, state_info(3), keep=1)
    assert sorted(p.name for p in root.iterdir()) == ["step-00000001", "step-00000002", "step-00000003"]


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


def test_resume_after_stop_is_bit_identical(reference, tmp_path, device):
    out = tmp_path / "run"
    stopped = main(toy_args(out, "--set", "train.stop_after_steps=5", device=device))  # mid-epoch (epoch 1, 4 of 6 batches)
    assert stopped["status"] == "stopped" and stopped["step"] == 5
    assert not (out / "export-final").exists()
    resumed = main(toy_args(out, "--resume", device=device))
    assert resumed["status"] == "finished" and resumed["step"] == 9
    assert_same_tensors(weights(out), weights(reference))
    assert_same_tensors(weights(out, "export"), weights(reference, "export"))
    # optimizer moments and RNG states too, not just the weights
    assert_same_tensors(train_state.load_latest(out / "checkpoints")[1],
                        train_state.load_latest(reference / "checkpoints")[1])
    strip = lambda rows: [(r["step"], r["epoch"], r["split"], r["name"], r["value"]) for r in rows]  # noqa: E731
    assert strip(read_metrics(out / "metrics.csv")) == strip(read_metrics(reference / "metrics.csv"))


def test_kill_9_then_resume_is_bit_identical(reference, tmp_path, device):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "training", *toy_args(out, device=device)], cwd=REPO, env=env,
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
    resumed = main(toy_args(out, "--resume", device=device))
    assert resumed["status"] == "finished"
    assert_same_tensors(weights(out), weights(reference))


# -- damaged checkpoints ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stopped(tmp_path_factory, device) -> Path:
    """A run stopped at step 5; its checkpoints are step 5 (newest) and step 4."""
    out = tmp_path_factory.mktemp("stopped") / "run"
    assert main(toy_args(out, "--set", "train.stop_after_steps=5", device=device))["status"] == "stopped"
    assert [p.name for p in train_state.list_states(out / "checkpoints")] == ["step-00000005", "step-00000004"]
    return out


def copy_run(stopped: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(stopped, out)
    return out


def put_nan(checkpoint: Path) -> None:
    """A NaN in the weights, with a matching sha256: what a diverged run would have saved."""
    tensors = load_file(str(checkpoint / train_state.TENSORS_FILE))
    tensors["model.net.0.weight"][0, 0] = float("nan")
    save_file(tensors, str(checkpoint / train_state.TENSORS_FILE))
    edit_info(checkpoint, lambda info: info.update(
        {train_state.CHECKSUM_KEY: hashlib.sha256((checkpoint / train_state.TENSORS_FILE).read_bytes()).hexdigest()}))


def edit_info(checkpoint: Path, change) -> None:
    info = json.loads((checkpoint / train_state.INFO_FILE).read_text())
    change(info)
    (checkpoint / train_state.INFO_FILE).write_text(json.dumps(info))


DAMAGE = {
    "flipped-bytes": (lambda c: flip_bytes(c / train_state.TENSORS_FILE), "does not match the sha256"),
    "nan": (put_nan, "tensor 'model.net.0.weight' has 1 non-finite value(s)"),
    "state-json-not-json": (lambda c: (c / train_state.INFO_FILE).write_text('{"step": 5,'), "is not valid JSON"),
    "state-json-missing-key": (lambda c: edit_info(c, lambda info: info.pop("batches_done")),
                               "state.json has no 'batches_done'"),
    "state-json-wrong-type": (lambda c: edit_info(c, lambda info: info.update(step="5")),
                              "state.json['step'] should be int, not str"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_newest_checkpoint_is_skipped_with_a_warning(reference, stopped, tmp_path, capsys, damage, device):
    out = copy_run(stopped, tmp_path)
    newest = out / "checkpoints" / "step-00000005"
    corrupt, reason = DAMAGE[damage]
    corrupt(newest)
    damaged_files = {p.name: p.read_bytes() for p in newest.iterdir()}
    capsys.readouterr()

    resumed = main(toy_args(out, "--resume", "--set", "train.stop_after_steps=0", device=device))  # step 5 again: no stop
    err = capsys.readouterr().err
    assert resumed["status"] == "finished"
    assert f"WARNING: skipping damaged checkpoint {newest}: " in err and reason in err
    assert "Resumed from" in err and "step-00000004 (epoch 1, step 4)" in err
    assert "starting from scratch" not in err
    assert_same_tensors(weights(out), weights(reference))  # step 4 was a whole state: still bit-identical
    # the first save after the resume set the damaged checkpoint aside, untouched, for a person
    aside = out / "checkpoints" / "step-00000005.damaged"
    assert {p.name: p.read_bytes() for p in aside.iterdir()} == damaged_files
    assert f"WARNING: renamed damaged checkpoint {newest} to step-00000005.damaged for inspection" in err


def test_all_checkpoints_damaged_stops_with_a_clear_error_and_deletes_nothing(stopped, tmp_path, capsys, device):
    out = copy_run(stopped, tmp_path)
    flip_bytes(out / "checkpoints" / "step-00000005" / train_state.TENSORS_FILE)
    put_nan(out / "checkpoints" / "step-00000004")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()

    with pytest.raises(SystemExit) as exit_info:
        main(toy_args(out, "--resume", device=device))
    err = capsys.readouterr().err
    assert exit_info.value.code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("python -m training: error: cannot resume: none of the 2 checkpoints under ")
    assert "step-00000005: state.safetensors does not match the sha256" in lines[0]
    assert "step-00000004: tensor 'model.net.0.weight' has 1 non-finite" in lines[0]
    assert "nothing was deleted" in lines[0] and "starting from scratch" not in err
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_leftover_export_staging_is_removed_at_the_next_start(tmp_path, device):
    out = tmp_path / "run"
    for leftover in (".export.k1ll3d", ".export-final.x9"):  # what atomic_directory leaves after a kill -9
        (out / leftover).mkdir(parents=True)
        (out / leftover / "model.safetensors").write_bytes(b"half")
    # stopped at step 1, before any export: only the start of the run can have swept them
    assert main(toy_args(out, "--set", "train.stop_after_steps=1", device=device))["status"] == "stopped"
    assert not (out / "export").exists()
    assert not list(out.glob(".export*"))
