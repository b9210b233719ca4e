"""CCGS through the real training CLI on a small synthetic MedVidQA-layout set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmdemo.models.factory import CCGS_FAMILY, load_model
from training.data.synthetic_qa import generate, write_medvidqa_layout
from training.metrics_log import read_metrics

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_cli_training_lowers_the_loss_and_exports_a_small_loadable_checkpoint(tmp_path, device):
    data, out = tmp_path / "data", tmp_path / "run"
    for split, seed in (("train", 0), ("val", 1)):
        videos, questions = generate(6 if split == "train" else 3, seed=seed, prefix=split)
        write_medvidqa_layout(data, videos, questions, split)
    config = tmp_path / "ccgs.yaml"
    config.write_text(
        "train: {epochs: 3, batch_size: 4, lr: 3.0e-3, log_every: 1, checkpoint_every: 0}\n"
        "task: {crop_sentences: 16, eval_candidates: 2, model: {plm_layers: 1, train_plm_layers: 1, hidden: 64}}\n"
    )
    command = [sys.executable, "-m", "training", "ccgs", "--data", str(data), "--out", str(out),
               "--config", str(config), "--device", device, "--init", "pretrained"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["status"] == "finished"

    losses = [float(r["value"]) for r in read_metrics(out / "metrics.csv") if r["split"] == "train" and r["name"] == "loss"]
    assert min(losses[-2:]) < losses[0]

    # Only the trained part is exported: the frozen embeddings stay with the pretrained MiniLM.
    weights = out / "export" / "model.safetensors"
    assert weights.stat().st_size < 10e6
    model = load_model(out / "export", CCGS_FAMILY)
    trained = {k: v for k, v in model.trained_state_dict().items()}
    from safetensors.torch import load_file

    for name, tensor in load_file(str(weights)).items():
        assert torch.equal(trained[name], tensor)
    assert json.loads((out / "export" / "meta.json").read_text())["task"] == "ccgs"


def test_cached_frame_features_reach_the_model(tmp_path):
    import numpy as np
    from safetensors.numpy import save_file

    from mmdemo.models.ccgs import CCGSConfig
    from training.tasks.ccgs import CCGSTask, CCGSTaskConfig

    videos, questions = generate(4, seed=5, prefix="v")
    write_medvidqa_layout(tmp_path, videos, questions, "train")
    (tmp_path / "features").mkdir()
    rng = np.random.default_rng(0)
    for video in videos[:2]:  # the other two stay text-only
        times = np.arange(0.5, video.captions[-1].end, 1.0, dtype=np.float32)
        save_file({"embeddings": rng.normal(size=(len(times), 512)).astype(np.float32), "times": times},
                  str(tmp_path / "features" / f"{video.video_id}.safetensors"))
    config = CCGSTaskConfig(model=CCGSConfig(use_visual=True, plm_layers=1, train_plm_layers=0, hidden=32), val_fraction=0.25)
    task = CCGSTask(config)
    train, _ = task.build_datasets(tmp_path)
    with_frames = [i for i, v in enumerate(train.inputs) if v.visual is not None]
    assert with_frames and len(with_frames) < len(train.inputs)
    index = next(i for i, e in enumerate(train.examples) if e.video in with_frames)
    model = task.build_model("pretrained")
    batch = task.collate([train[index]])
    assert batch.videos[0][0].visual is not None  # cropping keeps the frames
    inputs = model.prepare(batch.questions, batch.videos)
    assert inputs.visual is not None
    losses = task.compute_losses(model, batch)
    assert torch.isfinite(losses["loss"])
