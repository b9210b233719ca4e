"""The scene task end to end on a tiny synthetic set: CLIP features, the three models through
``python -m training``, the ensemble fit, ``mmdemo.evaluate scene`` and the app's classifier."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from mmdemo.checkpoint import load_checkpoint
from mmdemo.data.tau import read_tau
from mmdemo.evaluate import main as evaluate_main
from mmdemo.frame_features import SCENE_FEATURES_DIR
from mmdemo.frame_features import main as features_main
from mmdemo.models.factory import SCENE_FAMILIES, load_model
from mmdemo.models.scene import CLIPLateFusion
from mmdemo.pipelines.classify_scene import ENSEMBLE_FILE, SceneClassifier
from training.__main__ import main as train_main
from training.data.synthetic_scenes import CLASSES, SynthConfig, generate
from training.tasks.scene import SceneTask, SceneTaskConfig
from training.fit_scene_ensemble import main as fit_main

REPO = Path(__file__).resolve().parents[2]
ENCODER = "ViT-S-32-alt"  # one small open_clip model keeps the features step to seconds
# Tiny settings on top of the bundled configs: one epoch, small batches and images.
TINY = {
    "audio": ["--set", "train.batch_size=8"],
    "frames": ["--set", "train.batch_size=8", "--set", "task.frames.image_size=32"],
    "fusion": ["--set", "train.batch_size=8", "--set", f"task.fusion.encoders=[{ENCODER}]", "--set", 'task.fusion.pretrained=""'],
}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """2 clips per class of 2 s: one to train on, one held out (val)."""
    root = tmp_path_factory.mktemp("scenes")
    assert generate(root, clips_per_class=2, config=replace(SynthConfig(), seconds=2.0)) == {"train": 10, "evaluate": 10}
    return root


def features_argv(data: Path) -> list[str]:
    return ["--scene", "--videos", str(data / "video"), "--out", str(data / SCENE_FEATURES_DIR), "--models", ENCODER]


@pytest.fixture(scope="module")
def features(data) -> Path:
    assert features_main(features_argv(data)) == 0
    return data / SCENE_FEATURES_DIR


@pytest.fixture(scope="module")
def checkpoints(data, features, tmp_path_factory, device) -> Path:
    """The three models trained for one epoch through the real CLI, gathered into one set."""
    runs, scene_set = tmp_path_factory.mktemp("runs"), tmp_path_factory.mktemp("set")
    for model, extra in TINY.items():
        summary = train_main(["scene", "--data", str(data), "--out", str(runs / model), "--epochs", "1",
                              "--device", device, "--config", str(REPO / f"training/configs/scene_{model}.yaml"), *extra])
        assert summary["status"] == "finished" and summary["best"] is not None
        (scene_set / model).symlink_to(runs / model / "export")
    return scene_set


def test_features_cli_caches_one_folder_per_model(data, features, capsys):
    files = sorted((features / ENCODER).glob("*.safetensors"))
    assert [f.stem for f in files] == sorted(p.stem for p in (data / "video").glob("*.mp4"))
    capsys.readouterr()
    assert features_main(features_argv(data)) == 0
    report = json.loads(capsys.readouterr().out)
    assert report[ENCODER]["embedded"] == [] and len(report[ENCODER]["cached"]) == 20


def test_each_model_exports_what_the_app_loads(checkpoints):
    for name, family in SCENE_FAMILIES.items():
        checkpoint = load_checkpoint(checkpoints / name)
        assert checkpoint.family == family and checkpoint.meta["classes"] == list(CLASSES)
        assert checkpoint.meta["selection"] == {"metric": "accuracy", "mode": "max"}  # section 3
        assert set(checkpoint.meta["metrics"]) == {"loss", "log_loss", "accuracy"}
        train = checkpoint.meta["config"]["train"]
        assert (train["optimizer"], train["schedule"], train["momentum"]) == ("sgd", "step", 0.9)
        loaded = load_model(checkpoints / name)
        assert loaded.name == name and loaded.classes == CLASSES and not loaded.model.training
    assert load_checkpoint(checkpoints / "fusion").config["encoders"] == [ENCODER]


def test_train_rows_are_segments_and_frames_and_val_rows_are_clips(data, features):
    task = SceneTask(SceneTaskConfig(model="audio"))
    train, val = task.build_datasets(data)
    assert len(train) == 10 * 2 and len(val) == 10  # two 1 s segments of each 2 s train clip; val whole clips
    batch = task.collate([val[0], val[1]])
    assert batch.inputs.shape == (4, 48000) and batch.clip_index.tolist() == [0, 0, 1, 1]
    frames = SceneTask(SceneTaskConfig(model="frames", frames=replace(SceneTaskConfig().frames, image_size=32)))
    train, val = frames.build_datasets(data)
    assert len(train) == 10 * 2  # 12 frames per 10 s: 2 per 2 s clip
    batch = frames.collate([train[0], train[5]])
    assert batch.inputs.shape == (2, 3, 32, 32) and batch.labels.tolist() == [0, 2]
    fusion = SceneTask(SceneTaskConfig(model="fusion", fusion=replace(SceneTaskConfig().fusion, encoders=(ENCODER,))))
    _, val = fusion.build_datasets(data)
    batch = fusion.collate([val[3]])
    assert batch.inputs[ENCODER].shape == (2, 256) and batch.labels.tolist() == [read_tau(data, "evaluate").items[3].label_index]
    model = fusion.build_model("scratch")
    assert isinstance(model, CLIPLateFusion) and model.head.out_features == 10


def test_missing_features_say_how_to_make_them(data):
    task = SceneTask(SceneTaskConfig(model="fusion", features="no_such_folder"))
    with pytest.raises(FileNotFoundError, match="python -m mmdemo.frame_features --scene"):
        task.build_datasets(data)


def test_ensemble_fit_then_evaluate_then_classify(data, checkpoints, capsys):
    fitted = fit_main(["--data", str(data), "--checkpoints", str(checkpoints)])
    saved = json.loads((checkpoints / ENSEMBLE_FILE).read_text())
    assert saved["config"] == fitted["config"] and set(saved["config"]["selection"]) == set(CLASSES)
    assert saved["fitted"]["split"] == "evaluate" and saved["fitted"]["clips"] == 10
    assert set(saved["fitted"]["val_metrics"]) == {"audio", "frames", "fusion", "fused", "fused+post"}
    capsys.readouterr()

    assert evaluate_main(["scene", "--data", str(data), "--checkpoints", str(checkpoints)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["clips"] == 10 and set(metrics["stages"]) == {"audio", "frames", "fusion", "fused", "fused+post"}
    assert all(0 <= row["accuracy"] <= 100 and row["log_loss"] > 0 for row in metrics["stages"].values())
    # the val split scored here is the one the ensemble was fitted on, and the output says so
    assert "not held-out" in metrics["warning"]
    assert metrics["stages"] == {stage: {k: round(v, 4) for k, v in row.items()}
                                 for stage, row in saved["fitted"]["val_metrics"].items()}

    classifier = SceneClassifier.from_dir(checkpoints)
    clip = read_tau(data, "evaluate").items[0].video
    result = classifier.run(clip)
    assert result.label in CLASSES and set(result.per_model) == {"audio", "frames", "fusion"}
    assert classifier.ensemble_config().selection == {k: list(v) for k, v in fitted["config"]["selection"].items()}
    torch.testing.assert_close(torch.tensor(sum(result.probabilities.values())), torch.tensor(1.0), atol=1e-3, rtol=0)
