"""The caption task through ``python -m training caption`` with each combiner of Table 8, on a
tiny synthetic set with random frame features of the cache's layout."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mmdemo.checkpoint import load_checkpoint
from mmdemo.models.captioner import LOSS_NAMES, MELTR_PREFIX
from mmdemo.models.factory import CAPTIONER, load_model
from training import train_state
from training.__main__ import main as train_main

REPO = Path(__file__).resolve().parents[2]
EPOCHS = 2


def caption_args(data: Path, out: Path, combiner: str, *extra: str, tiny: list[str], device: str) -> list[str]:
    overrides = [arg for item in [*tiny, f"task.combiner={combiner}", *extra] for arg in ("--set", item)]
    return ["caption", "--data", str(data), "--out", str(out), "--epochs", str(EPOCHS), "--device", device,
            "--init", "pretrained", "--config", str(REPO / "training/configs/caption_synthetic.yaml"), *overrides]


@pytest.fixture(scope="module")
def runs(caption_data, caption_tiny, device, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("runs")
    for combiner in ("primary", "mtl", "meltr"):
        summary = train_main(caption_args(caption_data, out / combiner, combiner, tiny=caption_tiny, device=device))
        assert summary["status"] == "finished" and summary["best"] is not None
    return {combiner: out / combiner for combiner in ("primary", "mtl", "meltr")}


def train_rows(run: Path, name: str) -> list[float]:
    with open(run / "metrics.csv", newline="") as handle:
        return [float(row["value"]) for row in csv.DictReader(handle) if row["split"] == "train" and row["name"] == name]


@pytest.mark.parametrize("combiner", ["primary", "mtl", "meltr"])
def test_each_combiner_trains_and_exports(runs, combiner):
    run = runs[combiner]
    caption = train_rows(run, "caption")
    assert all(np.isfinite(caption)) and caption[-1] < caption[0]  # the primary loss falls in every mode
    model = load_model(run / "export", CAPTIONER)  # the MELTR tensors beside it are skipped
    [[(text, _)]] = model.caption([np.zeros((4, 16), np.float32)], ["a transcript"])
    assert isinstance(text, str)
    meta = json.loads((run / "export-final" / "meta.json").read_text())  # "export" may be an earlier epoch
    record = meta["meltr"]
    assert record["combiner"] == combiner and record["tasks"] == list(LOSS_NAMES)
    assert record["epochs"] == list(range(EPOCHS))
    weights = np.array(record["weights"])
    assert weights.shape == (EPOCHS, len(LOSS_NAMES)) and np.isfinite(weights).all()
    curves = record["curves"]
    assert np.array(curves["output"]).shape == (len(LOSS_NAMES), len(curves["grid"]))
    assert meta["features"]["model"] == "random" and {"CIDEr", "BLEU-4", "METEOR", "ROUGE-L"} <= set(meta["metrics"])
    if combiner == "mtl":
        assert np.allclose(weights, 1.0)
    if combiner == "primary":
        assert np.allclose(weights, np.eye(len(LOSS_NAMES))[[0, 0]])


def test_meltr_is_trained_only_by_its_meta_step(runs):
    def meltr_tensors(combiner: str) -> dict[str, torch.Tensor]:
        state = load_checkpoint(runs[combiner] / "export-final").state_dict
        return {name: t for name, t in state.items() if name.startswith(MELTR_PREFIX)}

    primary, mtl, meltr = (meltr_tensors(c) for c in ("primary", "mtl", "meltr"))
    assert primary and set(primary) == set(meltr)
    assert all(torch.equal(primary[name], mtl[name]) for name in primary)  # the same initial MELTR, untouched
    assert any(not torch.equal(primary[name], meltr[name]) for name in primary)
    weights = np.array(json.loads((runs["meltr"] / "export-final" / "meta.json").read_text())["meltr"]["weights"])
    assert not np.allclose(weights, 1.0)  # MELTR weighs its inputs unequally


def test_a_resumed_meltr_run_continues_exactly(runs, caption_data, caption_tiny, device, tmp_path):
    """Stopped after step 3 (mid-epoch 1, one meta step taken), then resumed: the same weights,
    MELTR's Adam moments, batch counter and meta-batch generator, and the same MELTR record."""
    out = tmp_path / "meltr"
    args = {"tiny": caption_tiny, "device": device}
    assert train_main(caption_args(caption_data, out, "meltr", "train.stop_after_steps=3", **args))["status"] == "stopped"
    _, stopped, info = train_state.load_latest(out / "checkpoints")
    assert info["task_state"]["batches"] == 3 and any(name.startswith("task.meltr_optim.") for name in stopped)
    assert train_main(caption_args(caption_data, out, "meltr", **args) + ["--resume"])["status"] == "finished"
    reference = runs["meltr"]
    for export in ("export", "export-final"):
        ours, theirs = (load_checkpoint(run / export) for run in (out, reference))
        assert sorted(ours.state_dict) == sorted(theirs.state_dict)
        assert all(torch.equal(ours.state_dict[name], theirs.state_dict[name]) for name in ours.state_dict), export
        assert ours.meta["meltr"] == theirs.meta["meltr"] and ours.meta["metrics"] == theirs.meta["metrics"]
    (_, ours, _), (_, theirs, _) = (train_state.load_latest(run / "checkpoints") for run in (out, reference))
    assert sorted(ours) == sorted(theirs)
    assert all(torch.equal(ours[name], theirs[name]) for name in ours)  # task.* (MELTR's Adam, generator) included


def test_evaluate_cli_reproduces_the_trainers_val_scores(runs, caption_data, capsys):
    """python -m mmdemo.evaluate caption on the val split: the scores the trainer selected the export by."""
    from mmdemo.evaluate import main as evaluate_main

    export = runs["meltr"] / "export"
    assert evaluate_main(["caption", "--data", str(caption_data), "--split", "val", "--checkpoint", str(export)]) == 0
    scores = json.loads(capsys.readouterr().out)
    metrics = json.loads((export / "meta.json").read_text())["metrics"]
    assert scores["clips"] == 4 and scores["mode"] == "V+T"
    for name in ("BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"):
        assert scores[name] == round(metrics[name], 2), name
