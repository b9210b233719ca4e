"""``python -m training``: a real run through the entry point, and config resolution."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmdemo.checkpoint import load_checkpoint
from mmdemo.models.factory import load_model
from training.__main__ import build_parser, main, resolve_run
from training.config_io import ConfigError, read_config_file
from training.metrics_log import read_metrics
from training.tasks import get_task
from training.tasks.toy import TOY, ToyMLP

REPO = Path(__file__).resolve().parents[2]


def resolve(*argv: str):
    return resolve_run(build_parser().parse_args(list(argv)), command="test")


def test_cli_run_lowers_loss_and_exports_a_loadable_checkpoint(tmp_path, device):
    data, out = tmp_path / "data", tmp_path / "run"
    data.mkdir()
    config = tmp_path / "toy.yaml"
    config.write_text("train:\n  lr: 1.0e-2\n  batch_size: 16\n  log_every: 2\n  warmup_ratio: 0.1\n"
                      "task:\n  n_train: 192\n  model: {hidden: 16}\n")
    command = [sys.executable, "-m", "training", "toy", "--data", str(data), "--out", str(out),
               "--config", str(config), "--epochs", "3", "--device", device, "--init", "scratch"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["status"] == "finished" and summary["step"] == 3 * 12

    rows = read_metrics(out / "metrics.csv")
    train_loss = [float(r["value"]) for r in rows if r["split"] == "train" and r["name"] == "loss"]
    val_loss = [float(r["value"]) for r in rows if r["split"] == "val" and r["name"] == "loss"]
    assert train_loss[-1] < 0.8 * train_loss[0] and val_loss[-1] < val_loss[0]

    for export in ("export", "export-final"):
        checkpoint = load_checkpoint(out / export)
        model = load_model(out / export)
        assert isinstance(model, ToyMLP) and model.config.hidden == 16
        meta = checkpoint.meta
        assert meta["task"] == "toy" and meta["data"] == str(data.resolve())
        assert meta["init"] == "scratch" and meta["seed"] == 0 and "date" in meta
        assert meta["command"] == "python -m training " + " ".join(command[3:])
        assert set(meta["metrics"]) == {"loss", "accuracy"}
    best = load_checkpoint(out / "export").meta
    assert best["selected"] == "best" and best["metrics"]["accuracy"] == summary["best"]["value"]
    assert best["epoch"] == summary["best"]["epoch"]
    assert best["metrics"]["accuracy"] >= max(float(r["value"]) for r in rows
                                              if r["split"] == "val" and r["name"] == "accuracy")


def test_config_file_then_set_then_flags(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"train": {"epochs": 7, "lr": 0.5, "betas": [0.8, 0.95]},
                                  "task": {"model": {"hidden": 5}, "n_val": 3}}))
    run = resolve("toy", "--data", "d", "--out", str(tmp_path / "o"), "--config", str(config),
                  "--set", "train.lr=1e-3", "--set", "task.model.dropout=0", "--epochs", "2")
    assert run.train.epochs == 2 and run.train.lr == 1e-3 and run.train.betas == (0.8, 0.95)
    assert run.task_config.model.hidden == 5 and run.task_config.model.dropout == 0.0
    assert run.task_config.model.in_dim == 8 and run.task_config.n_val == 3  # untouched fields keep defaults
    assert run.command == "test" and run.init == "pretrained" and run.device is None

    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text("train:\n  lr: 1e-3\n  precision: fp32\n")  # YAML 1.1 reads 1e-3 as a string
    run = resolve("toy", "--data", "d", "--out", str(tmp_path / "o"), "--config", str(yaml_file))
    assert run.train.lr == 1e-3 and run.train.precision == "fp32"
    assert read_config_file(tmp_path / "c.yaml")["task"] == {}


@pytest.mark.parametrize("text, message", [
    ("train:\n  lrr: 0.1\n", "'train.lrr'"),
    ("task:\n  model: {hiden: 3}\n", "'task.model.hiden'"),
    ("trian:\n  lr: 0.1\n", "unknown section"),
    ("train:\n  epochs: many\n", "'train.epochs' must be int"),
    ("train:\n  schedule: cosine-ish\n", "train.schedule must be one of"),
    ("train:\n  optimizer: adam\n", "train.optimizer must be one of"),
    ("train:\n  precision: fp16\n", "train.precision must be one of"),
    ("train:\n  step_epochs: [10, 5]\n", "train.step_epochs must be increasing"),
    ("train:\n  momentum: 1.5\n", "train.momentum must be in [0, 1"),
    ("train: [1, 2]\n", "section 'train' must be a mapping"),
])
def test_config_errors_are_clear(tmp_path, text, message):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(").replace("[", r"\[")):
        resolve("toy", "--data", "d", "--out", str(tmp_path / "o"), "--config", str(config))


def test_unknown_key_lists_the_valid_fields(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["toy", "--data", "d", "--out", str(tmp_path / "o"), "--set", "train.learning_rate=1"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "'train.learning_rate'" in error and "TrainConfig fields are:" in error and "lr" in error
    assert not (tmp_path / "o").exists()


def test_existing_run_needs_resume_and_resume_keeps_its_config(tmp_path, device):
    out = tmp_path / "run"
    small = ["toy", "--data", str(tmp_path), "--out", str(out), "--device", device, "--epochs", "1",
             "--set", "task.n_train=32", "--set", "task.n_val=8", "--set", "train.lr=0.02"]
    main(small)
    with pytest.raises(ConfigError, match="--resume"):
        resolve(*small)
    # --resume starts from the saved configs: no need to repeat the flags, epochs may grow
    run = resolve("toy", "--data", str(tmp_path), "--out", str(out), "--resume", "--epochs", "2")
    assert run.train.lr == 0.02 and run.task_config.n_train == 32 and run.train.epochs == 2
    with pytest.raises(ConfigError, match="train.lr"):
        resolve("toy", "--data", str(tmp_path), "--out", str(out), "--resume", "--set", "train.lr=0.1")
    summary = main(["toy", "--data", str(tmp_path), "--out", str(out), "--resume", "--epochs", "2", "--device", device])
    assert summary["epoch"] == 2 and summary["step"] == summary["total_steps"]


def test_unwritten_task_is_a_clear_error():
    with pytest.raises(KeyError, match="does not exist yet|Unknown task"):
        get_task("no-such-task")
    assert get_task("toy").family == TOY
