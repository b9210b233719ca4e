"""``python -m training compare-init``: both inits through the real trainer, and the report they make."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmdemo.checkpoint import load_checkpoint
from mmdemo.compare_report import load_report
from training.__main__ import main
from training.config_io import ConfigError
from training.metrics_log import read_metrics
from training.train_state import load_latest

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
TOY = ["--set", "task.n_train=64", "--set", "task.n_val=32", "--set", "train.batch_size=16",
       "--set", "train.lr=0.02", "--set", "train.log_every=2"]


def csv_values(run: Path, split: str, name: str) -> dict[int, list[float]]:
    """{epoch (0-based): the logged values of ``split/name`` in it}."""
    values: dict[int, list[float]] = {}
    for row in read_metrics(run / "metrics.csv"):
        if row["split"] == split and row["name"] == name:
            values.setdefault(int(row["epoch"]), []).append(float(row["value"]))
    return values


def test_cli_writes_a_report_of_both_runs_read_from_their_logs(tmp_path, device):
    out = tmp_path / "compare"
    command = [sys.executable, "-m", "training", "compare-init", "toy", "--data", str(tmp_path), "--out", str(out),
               "--epochs", "3", "--device", device, *TOY]
    done = subprocess.run(command, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    assert printed["report"] == str(out / "report.json") and printed["html"] == str(out / "report.html")

    report = load_report(out)
    assert (report.task, report.selection_metric, report.val_loss, report.epochs) == ("toy", "accuracy", "loss", 3)
    for init, run in report.runs.items():
        folder = out / init
        assert run.status == "finished" and run.epochs == [1, 2, 3] and run.val_epochs == [1, 2, 3]
        # two train rows per epoch (4 steps, log_every 2), each the mean of two steps
        train = csv_values(folder, "train", "loss")
        assert run.train_loss == pytest.approx([sum(train[e]) / 2 for e in range(3)], rel=1e-5)
        assert run.val["accuracy"] == [csv_values(folder, "val", "accuracy")[e][0] for e in range(3)]
        summary = json.loads((folder / "summary.json").read_text())
        assert run.best.epoch == summary["best"]["epoch"] + 1
        assert run.best.metrics["accuracy"] == pytest.approx(summary["best"]["value"], rel=1e-5)
        assert load_checkpoint(folder / "export").meta["init"] == init
        assert run.final.epoch == 3 and run.wall_seconds > 0
    # same data, seed, config and budget: the run records differ only in init and folder
    records = {init: json.loads((out / init / "run.json").read_text()) for init in ("pretrained", "scratch")}
    assert records["pretrained"]["config"] == records["scratch"]["config"]
    assert (records["pretrained"]["init"], records["scratch"]["init"]) == ("pretrained", "scratch")
    # the toy task has nothing pretrained, so the two runs are the same run: identical curves
    assert report.pretrained.train_loss == report.scratch.train_loss and report.pretrained.val == report.scratch.val

    page = (out / "report.html").read_text()
    assert "<script src=" not in page and "Plotly.newPlot" in page and len(page) > 1_000_000  # plotly.js inside
    assert page.count('class="plotly-graph-div"') == 2  # the losses, the accuracy
    assert "pretrained · validation" in page and "scratch · train" in page


def test_resume_continues_both_runs_and_ends_as_an_uninterrupted_comparison(tmp_path, device):
    def compare(out: Path, *flags: str) -> dict:
        return main(["compare-init", "toy", "--data", str(tmp_path), "--out", str(out), "--device", device, *flags])

    whole = tmp_path / "whole"
    compare(whole, "--epochs", "2", *TOY)

    out = tmp_path / "interrupted"
    first = compare(out, "--epochs", "2", *TOY, "--set", "train.stop_after_steps=3")  # "killed" mid-epoch 1
    assert first["pretrained"]["status"] == first["scratch"]["status"] == "stopped"
    with pytest.raises(SystemExit):  # an existing comparison needs --resume
        compare(out, "--epochs", "2", *TOY)
    compare(out, "--resume", "--set", "train.stop_after_steps=0")  # no need to repeat the other flags

    resumed, uninterrupted = load_report(out), load_report(whole)
    for init in ("pretrained", "scratch"):
        a, b = resumed.runs[init], uninterrupted.runs[init]
        assert a.status == "finished" and (a.epochs, a.train_loss, a.val) == (b.epochs, b.train_loss, b.val)
    assert resumed.pretrained.wall_seconds > first["pretrained"]["wall_seconds"]  # summed over invocations


def test_a_second_run_without_a_checkpoint_takes_the_first_runs_config(tmp_path, device):
    out = tmp_path / "compare"
    main(["compare-init", "toy", "--data", str(tmp_path), "--out", str(out), "--epochs", "1", "--device", device, *TOY,
          "--set", "task.model.hidden=8"])
    for path in sorted((out / "scratch").rglob("*"), reverse=True):  # as if killed before scratch checkpointed
        path.unlink() if path.is_file() else path.rmdir()
    main(["compare-init", "toy", "--data", str(tmp_path), "--out", str(out), "--resume", "--device", device])
    configs = [json.loads((out / init / "run.json").read_text())["config"] for init in ("pretrained", "scratch")]
    assert configs[0] == configs[1] and configs[1]["task"]["model"]["hidden"] == 8


def test_runs_with_different_configs_are_refused(tmp_path, device):
    from training.compare_init import build_parser, resolve_runs

    out = tmp_path / "compare"
    for init, hidden in (("pretrained", 8), ("scratch", 16)):
        main(["toy", "--data", str(tmp_path), "--out", str(out / init), "--epochs", "1", "--device", device, *TOY,
              "--set", f"task.model.hidden={hidden}"])
    args = build_parser().parse_args(["toy", "--data", str(tmp_path), "--out", str(out), "--resume"])
    with pytest.raises(ConfigError, match="different configs"):
        resolve_runs(args, "test")


@pytest.mark.slow
def test_audio_retrieval_scratch_differs_from_pretrained_and_its_export_reloads_exactly(tmp_path, device):
    from mmdemo.models.factory import AUDIO_TEXT, load_model
    from mmdemo.models.encoders import TextEncoder, TextEncoderConfig
    from training.data.synthetic_audio import SyntheticAudioConfig, generate_clotho

    data, out = tmp_path / "data", tmp_path / "compare"
    generate_clotho(data, train=24, val=8, seed=0, config=SyntheticAudioConfig(seconds=2.0))
    config = tmp_path / "audio.yaml"
    config.write_text(
        "train: {epochs: 2, batch_size: 8, lr: 2.0e-3, log_every: 1, checkpoint_every: 0}\n"
        "task: {model: {embed_dim: 64, text_train_layers: 1,\n"
        "               audio: {cnn_channels: [8, 16], cnn_segment_seconds: 2.0}}}\n"
    )
    command = [sys.executable, "-m", "training", "compare-init", "audio-retrieval", "--data", str(data),
               "--out", str(out), "--config", str(config), "--device", device]
    done = subprocess.run(command, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]

    report = load_report(out)
    assert report.selection_metric == "t2a_mAP@10" and report.val_loss == "loss"
    assert report.pretrained.train_loss != report.scratch.train_loss
    for run in report.runs.values():
        assert run.epochs == [1, 2] and len(run.val["t2a_mAP@10"]) == len(run.val["loss"]) == 2

    prefix = "text.backbone."
    minilm = dict(TextEncoder.from_config(TextEncoderConfig(), pretrained=True).backbone.named_parameters())
    for init in ("pretrained", "scratch"):
        export = load_checkpoint(out / init / "export-final")
        text = {name[len(prefix):]: t for name, t in export.state_dict.items() if name.startswith(prefix)}
        # the whole export reloads as the weights the run ended with, frozen layers included
        _, tensors, _ = load_latest(out / init / "checkpoints")
        reloaded = load_model(out / init / "export-final", AUDIO_TEXT).state_dict()
        assert all(torch.equal(reloaded[name], tensors[f"model.{name}"]) for name in reloaded)
        if init == "pretrained":  # the top layer is exported; the rest is the pretrained MiniLM
            assert export.config["text_train_layers"] == 1 and set(text) < set(minilm)
        else:  # every text weight is exported and none is MiniLM's
            assert export.config["text_train_layers"] == -1
            assert set(text) == set(minilm) - {"pooler.dense.weight", "pooler.dense.bias"}  # the model drops the pooler
            assert not any(torch.equal(t, minilm[name]) for name, t in text.items() if t.dim() == 2)

    # the scratch export scores val as the trainer's validation did
    evaluated = subprocess.run([sys.executable, "-m", "mmdemo.evaluate", "audio-retrieval", "--data", str(data),
                                "--split", "validation", "--checkpoint", str(out / "scratch" / "export")],
                               cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    best = report.scratch.best.metrics["t2a_mAP@10"]
    assert json.loads(evaluated.stdout)["t2a_mAP@10"] == pytest.approx(best, abs=0.01)
