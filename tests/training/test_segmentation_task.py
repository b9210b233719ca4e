"""The segmentation task on tiny synthetic street frames: data, loss, schedule, then the real CLI,
``mmdemo.evaluate segmentation`` and the app's pipeline on what it exports."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from mmdemo.checkpoint import load_checkpoint
from mmdemo.data.cityscapes import IGNORE_INDEX, TRAIN_CLASSES, read_cityscapes
from mmdemo.errors import InputError
from mmdemo.evaluate import main as evaluate_main
from mmdemo.models.factory import SEGMENTATION
from mmdemo.pipelines.segment_frames import FrameSegmenter
from training.__main__ import main as train_main
from training.data.synthetic_streets import CITIES, StreetConfig, generate
from training.schedule import lr_factor
from training.tasks.segmentation import (
    SegmentationTask,
    SegmentationTaskConfig,
    StreetFrames,
    random_crop,
)

REPO = Path(__file__).resolve().parents[2]
TINY_FRAMES = StreetConfig(height=64, width=128)
TINY_MODEL = ["--set", "task.model.input_size=[32,64]", "--set", "train.batch_size=3", "--set", "train.eval_batch_size=3",
              "--set", "train.log_every=1", "--set", "train.checkpoint_every=0"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("streets")
    assert generate(root, train=6, val=3, train_cities=2, config=TINY_FRAMES) == {"train": 6, "val": 3}
    return root


def tiny_task(**changes) -> SegmentationTask:
    config = SegmentationTaskConfig()
    return SegmentationTask(replace(config, model=replace(config.model, backbone="hrnet_w18_small", input_size=(32, 64)),
                                    **changes))


def test_synthetic_frames_use_disjoint_cities_in_the_cityscapes_layout(data):
    train, val = read_cityscapes(data, "train"), read_cityscapes(data, "val")
    assert {item.city for item in train} == set(CITIES["train"][:2])
    assert {item.city for item in val} == set(CITIES["val"])
    image, labels = StreetFrames(val, SegmentationTaskConfig(), train=False)[0]
    assert image.shape == (3, 64, 128) and labels.shape == (64, 128)  # val frames whole, at their own size
    present = set(labels.unique().tolist()) - {IGNORE_INDEX}
    assert {TRAIN_CLASSES.index(name) for name in ("road", "sidewalk", "building", "sky")} <= present


def test_training_crops_are_the_input_size_and_repeat_per_epoch_and_index(data):
    task = tiny_task()
    train, _ = task.build_datasets(data)
    first = train[1]
    assert first[0].shape == (3, 32, 64) and first[1].shape == (32, 64)
    assert torch.equal(train[1][0], first[0])  # the same crop for the same (epoch, index): exact resume
    train.set_epoch(1)
    assert not torch.equal(train[1][0], first[0])
    valid = set(range(len(TRAIN_CLASSES))) | {IGNORE_INDEX}
    assert set(first[1].unique().tolist()) <= valid


def test_a_small_scale_pads_with_ignored_pixels():
    image, labels = np.full((2, 3, 3), 9, np.uint8), np.zeros((2, 3), np.uint8)
    crop_image, crop_labels = random_crop(image, labels, (4, 4), np.random.default_rng(0))
    assert crop_labels.shape == (4, 4) and (crop_labels[2:] == IGNORE_INDEX).all() and (crop_labels[:, 3] == IGNORE_INDEX).all()
    assert (crop_image[:2, :3] == 9).all() and (crop_image[2:] == 0).all()


def test_loss_is_cross_entropy_weighted_by_table_1_and_skips_ignored_pixels():
    task = tiny_task()
    logits, labels = torch.randn(2, 19, 3, 4), torch.randint(0, 19, (2, 3, 4))
    labels[0, 0] = IGNORE_INDEX
    keep = labels != IGNORE_INDEX
    weights = torch.tensor(task.config.class_weights)[labels[keep]]
    nll = -F.log_softmax(logits, dim=1).gather(1, labels.clamp(max=18)[:, None])[:, 0][keep]
    torch.testing.assert_close(task.loss(logits, labels), (weights * nll).sum() / weights.sum())
    assert task.config.class_weights[:3] == (0.8373, 0.918, 0.866) and len(task.config.class_weights) == 19
    plain = tiny_task(class_weights=())
    torch.testing.assert_close(plain.loss(logits, labels), nll.mean())
    with pytest.raises(ValueError, match="one weight per class"):
        SegmentationTaskConfig(class_weights=(1.0, 2.0))


def test_init_sets_the_backbone_weights():
    task = tiny_task()
    assert task.build_model("scratch").config.pretrained is False
    task.init = "pretrained"
    assert task.model_config().pretrained is True  # ImageNet weights; building it needs them reachable


def test_poly_schedule_is_equation_1():
    # eq. 1: lr = 0.01 (1 - epoch / 484) ^ 0.9, here per step over the same span
    for step in (0, 100, 242, 483):
        assert 0.01 * lr_factor(step, 484, 0, "poly", power=0.9) == pytest.approx(0.01 * (1 - step / 484) ** 0.9)
    assert lr_factor(10, 100, 0, "poly", min_ratio=0.1, power=1.0) == pytest.approx(0.1 + 0.9 * 0.9)


@pytest.fixture(scope="module")
def run(data, tmp_path_factory, device) -> Path:
    """Five epochs of the real CLI from random weights on the tiny frames."""
    out = tmp_path_factory.mktemp("run") / "seg"
    summary = train_main(["segmentation", "--data", str(data), "--out", str(out), "--init", "scratch", "--device", device,
                          "--config", str(REPO / "training/configs/segmentation_synthetic.yaml"), "--epochs", "5",
                          *TINY_MODEL])
    assert summary["status"] == "finished" and summary["best"] is not None
    return out


@pytest.mark.slow
def test_cli_lowers_the_loss_and_exports_the_best_val_miou(run):
    with open(run / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    train_loss = [float(r["value"]) for r in rows if r["split"] == "train" and r["name"] == "loss"]
    assert len(train_loss) == 10 and np.mean(train_loss[-3:]) < np.mean(train_loss[:3]) - 0.1
    val_miou = [float(r["value"]) for r in rows if r["split"] == "val" and r["name"] == "mIoU"]
    checkpoint = load_checkpoint(run / "export")
    assert checkpoint.family == SEGMENTATION and checkpoint.meta["classes"] == list(TRAIN_CLASSES)
    assert checkpoint.meta["selection"] == {"metric": "mIoU", "mode": "max"}
    assert checkpoint.meta["metrics"]["mIoU"] == pytest.approx(max(val_miou), rel=1e-5)
    assert checkpoint.meta["init"] == "scratch" and checkpoint.config["pretrained"] is False
    train = checkpoint.meta["config"]["train"]
    assert (train["optimizer"], train["momentum"], train["weight_decay"], train["lr"], train["schedule"]) == \
        ("sgd", 0.9, 5e-4, 0.01, "poly")  # section 3.1.2 and eq. 1


@pytest.mark.slow
def test_evaluate_scores_the_export_as_the_trainer_did(data, run, capsys):
    capsys.readouterr()
    assert evaluate_main(["segmentation", "--data", str(data), "--split", "val", "--checkpoint", str(run / "export")]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["frames"] == 3 and set(metrics["per_class"]) == set(TRAIN_CLASSES)
    assert metrics["mIoU"] == pytest.approx(load_checkpoint(run / "export").meta["metrics"]["mIoU"], abs=0.5)
    scored = [v for v in metrics["per_class"].values() if v is not None]
    assert metrics["mIoU"] == pytest.approx(np.mean(scored), abs=0.02)
    assert evaluate_main(["segmentation", "--data", str(data), "--split", "test", "--checkpoint", str(run / "export")]) == 2


@pytest.mark.slow
def test_the_app_pipeline_loads_the_export(data, run, tmp_path):
    segmenter = FrameSegmenter.from_dir(run / "export")
    frames = np.stack([np.asarray(StreetFrames(read_cityscapes(data, "val"), SegmentationTaskConfig(), train=False)[i][0]
                                  .permute(1, 2, 0).mul(255).round().byte()) for i in range(2)])
    result = segmenter.run(frames)
    assert result.labels.shape == (2, 64, 128) and result.frames.shape == (2, 64, 128, 3)
    assert all(sum(shares.values()) == pytest.approx(1.0) for shares in result.shares)
    assert list(result.to_json()["frames"][0]) == list(result.shares[0])  # largest class first
    with pytest.raises(InputError, match="no video frames"):
        segmenter.run(np.zeros((0, 1, 1, 3), np.uint8))
    with pytest.raises(InputError, match="No segmentation model is installed"):
        FrameSegmenter.from_dir(tmp_path / "none").run(frames)
