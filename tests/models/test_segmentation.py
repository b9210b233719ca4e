"""The HRNet segmenter on tiny inputs: shapes, the HRNetV2 head, exports, the pretrained option."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from mmdemo.checkpoint import CheckpointError, save_checkpoint
from mmdemo.data.cityscapes import TRAIN_CLASSES
from mmdemo.models.factory import SCENE_FRAMES, SEGMENTATION, load_model
from mmdemo.models.segmentation import (
    HRNetSegmenter,
    SegmentationConfig,
)

SMALL = SegmentationConfig(backbone="hrnet_w18_small", input_size=(32, 64))


@pytest.fixture(scope="module")
def model() -> HRNetSegmenter:
    torch.manual_seed(0)
    return HRNetSegmenter(SMALL).eval()


def test_logits_cover_every_pixel_of_any_frame_size(model):
    with torch.no_grad():
        logits = model(torch.rand(2, 3, 40, 70))  # resized to 32 x 64 inside, logits back to 40 x 70
    assert logits.shape == (2, len(TRAIN_CLASSES), 40, 70) and torch.isfinite(logits).all()
    frames = np.random.default_rng(0).integers(0, 256, (3, 24, 48, 3), dtype=np.uint8)
    maps = model.predict(frames, batch_size=2)
    assert maps.shape == (3, 24, 48) and maps.dtype == np.uint8 and maps.max() < len(TRAIN_CLASSES)
    assert model.predict(frames[:0]).shape == (0, 24, 48)


def test_the_issue_backbone_builds_with_random_weights_and_the_hrnetv2_head():
    torch.manual_seed(0)
    model = HRNetSegmenter(replace(SegmentationConfig(), input_size=(32, 32))).eval()
    assert model.config.backbone == "hrnet_w18" and not model.config.pretrained
    assert model.backbone.feature_info.channels() == [18, 36, 72, 144]  # W18's four branches
    first, norm, _, classifier = model.head
    assert (first.in_channels, first.out_channels, first.kernel_size, norm.num_features) == (270, 270, (1, 1), 270)
    assert (classifier.in_channels, classifier.out_channels, classifier.kernel_size) == (270, 19, (1, 1))
    assert 9.0e6 < sum(p.numel() for p in model.parameters()) < 10.0e6
    with torch.no_grad():
        assert model(torch.rand(1, 3, 32, 32)).shape == (1, 19, 32, 32)


def test_config_refuses_sizes_hrnet_cannot_fuse_and_other_backbones():
    with pytest.raises(ValueError, match="multiples of 32"):
        SegmentationConfig(input_size=(100, 200))
    with pytest.raises(ValueError, match="timm HRNet"):
        SegmentationConfig(backbone="resnet18")


def test_pretrained_weights_that_cannot_load_fail_with_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))  # an empty cache
    with pytest.raises(RuntimeError, match="ImageNet weights of hrnet_w18_small could not be loaded.*--init scratch"):
        HRNetSegmenter(replace(SMALL, pretrained=True))


def test_an_export_reloads_to_the_same_predictions(model, tmp_path):
    trained = HRNetSegmenter(SMALL)
    trained.train()
    with torch.no_grad():
        trained(torch.rand(4, 3, 32, 64))  # moves the BatchNorm statistics off their initial values
    trained.eval()
    save_checkpoint(tmp_path / "seg", trained, family=SEGMENTATION, config=trained.config, meta={"classes": list(TRAIN_CLASSES)})
    loaded = load_model(tmp_path / "seg", SEGMENTATION)
    frames = np.random.default_rng(1).integers(0, 256, (2, 32, 64, 3), dtype=np.uint8)
    assert not loaded.training
    assert (loaded.predict(frames) == trained.predict(frames)).all()
    images = torch.rand(2, 3, 32, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(images), trained(images))
        assert not torch.allclose(model(images), trained(images))  # other weights, other logits


def test_exports_of_other_families_or_label_sets_are_refused(model, tmp_path):
    save_checkpoint(tmp_path / "scene", model, family=SCENE_FRAMES, config=model.config, meta={"classes": []})
    with pytest.raises(CheckpointError, match="'scene-frames' model"):
        load_model(tmp_path / "scene", SEGMENTATION)
    save_checkpoint(tmp_path / "other", model, family=SEGMENTATION, config=model.config, meta={"classes": ["road", "sky"]})
    with pytest.raises(CheckpointError, match="19 Cityscapes train classes"):
        load_model(tmp_path / "other", SEGMENTATION)
