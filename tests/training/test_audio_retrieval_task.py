"""Audio retrieval through the real training CLI on a small synthetic Clotho-layout set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmdemo.data.clotho import AudioCaptionItem, read_clotho
from mmdemo.pipelines.audio_retriever import AudioTextRetriever
from training.data.caption_augment import CaptionAugmenter
from training.data.synthetic_audio import SyntheticAudioConfig, generate_clotho
from training.metrics_log import read_metrics
from training.tasks.audio_retrieval import TrainPairs

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic-audio")
    generate_clotho(root, train=24, val=8, seed=0, config=SyntheticAudioConfig(seconds=2.0))
    return root


@pytest.mark.slow
def test_cli_training_lowers_the_loss_and_exports_a_loadable_retriever(data, tmp_path, device):
    out = tmp_path / "run"
    config = tmp_path / "audio.yaml"
    config.write_text(
        "train: {epochs: 3, batch_size: 8, lr: 2.0e-3, log_every: 1, checkpoint_every: 0}\n"
        "task: {model: {embed_dim: 64, text_train_layers: 1, audio: {cnn_channels: [8, 16], cnn_segment_seconds: 2.0}}}\n"
    )
    command = [sys.executable, "-m", "training", "audio-retrieval", "--data", str(data), "--out", str(out),
               "--config", str(config), "--device", device]
    done = subprocess.run(command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["status"] == "finished"
    assert {"t2a_mAP@10", "t2a_R@1", "a2t_mAP@10", "a2t_R@10"} <= set(summary["best"]["metrics"])

    losses = [float(r["value"]) for r in read_metrics(out / "metrics.csv") if r["split"] == "train" and r["name"] == "loss"]
    assert np.mean(losses[-3:]) < np.mean(losses[:3])

    retriever = AudioTextRetriever.load(out / "export")
    clip = read_clotho(data, "validation")[0].audio_path
    vector = retriever.embed_audio_file(clip)
    assert vector.shape == (64,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-5
    assert retriever.describe()["weights_sha256"]

    # what mmdemo.evaluate reports equals what the trainer's validation saw for the best epoch
    evaluated = subprocess.run([sys.executable, "-m", "mmdemo.evaluate", "audio-retrieval", "--data", str(data),
                                "--split", "validation", "--checkpoint", str(out / "export")],
                               cwd=REPO, capture_output=True, text=True, timeout=300)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    metrics = json.loads(evaluated.stdout)
    assert metrics["t2a_mAP@10"] == pytest.approx(summary["best"]["metrics"]["t2a_mAP@10"], abs=0.01)
    assert metrics["recordings"] == 8 and metrics["captions"] == 40


def test_a_training_pair_depends_on_index_and_epoch_only(tmp_path):
    import wave

    path = tmp_path / "a.wav"
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(32000)
        handle.writeframes((np.sin(np.arange(96000) / 9.0) * 9000).astype("<i2").tobytes())
    item = AudioCaptionItem(path, tuple(f"caption {i}" for i in range(5)))
    pairs = TrainPairs([item], sample_rate=32000, window=32000, augmenter=CaptionAugmenter(), seed=3)
    by_epoch = []
    for epoch in range(6):
        pairs.set_epoch(epoch)
        first, again = pairs[0], pairs[0]
        np.testing.assert_array_equal(first[0], again[0])
        assert first[1] == again[1] and len(first[0]) == 32000  # a 1 s window of the 3 s clip
        by_epoch.append((first[1], float(first[0][0])))
    assert len(set(by_epoch)) > 1  # epochs see other captions and windows
