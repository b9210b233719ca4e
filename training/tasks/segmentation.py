"""Semantic segmentation of street frames: HRNet + HRNetV2 head on Cityscapes' 19 classes.

Paper: van Keeken et al., "pretrained vs scratch" (../shared/papers/pretrained-vs-scratch-hrnet-distilbert.txt),
section 3.1. ``--data`` is a folder in the Cityscapes layout (``mmdemo.data.cityscapes``): the real
dataset, or one written by ``python -m training.data.synthetic_streets``. Train is ``train``,
val is ``val`` (its cities differ from train's, as in Cityscapes).

- ``--init pretrained`` starts the HRNet from timm's ImageNet weights and fails, saying so, when
  they cannot be downloaded; ``--init scratch`` starts from timm's random (normal) weights.
  These are the paper's two networks (section 3.1.2).
- The loss is cross-entropy weighted by Table 1's class weights, ignoring label 255.
- Training crops follow HRNet's Cityscapes recipe, which section 3.1.2 adopts ("multi scale",
  "a scale factor of 16"): a random scale, a random crop of the network's input size (padding
  with ignored pixels), a random horizontal flip. Val frames are scored whole at their own size.
- The exported epoch is the best by val mIoU (section 3.1.2 compares "best validation" scores).

The optimizer recipe lives in the config files (the trainer's, not the task's, settings):
``training/configs/segmentation_cityscapes.yaml`` is section 3.1.2's (SGD, momentum 0.9, weight
decay 5e-4, lr 0.01 with eq. 1's poly schedule, batch 16, 484 epochs, 1024 x 512);
``segmentation_synthetic.yaml`` is the same recipe sized for a CPU.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import Dataset

from mmdemo.data.cityscapes import (
    IGNORE_INDEX,
    TRAIN_CLASSES,
    CityscapesItem,
    read_cityscapes,
    read_pair,
)
from mmdemo.metrics import confusion_matrix, mean_iou
from mmdemo.models.scene import frames_to_tensor
from mmdemo.models.factory import SEGMENTATION, create_model
from mmdemo.models.segmentation import SegmentationConfig
from training.scratch import is_pretrained
from training.task import Task


@dataclass
class SegmentationTaskConfig:
    model: SegmentationConfig = field(default_factory=SegmentationConfig)
    # Table 1: the class weights against Cityscapes' imbalance (computed by HRNet's authors [22]),
    # in train-id order, road first. Section 5: the paper itself trained without them; () = unweighted.
    class_weights: tuple[float, ...] = (
        0.8373, 0.918, 0.866, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786, 1.0023,
        0.9539, 0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529, 1.0507,
    )
    # Section 3.1.2, "a scale factor of 16" and "multi scale": as HRNet's Cityscapes loader, the
    # scale is 0.5 + randint(0, scale_factor) / 10 (0.5 to 2.1). HRNet scales the full frame
    # and tests on it; here 1.0 is the whole frame at the network's input size, the view the
    # model gets at test time. 0 = no rescaling (the whole frame, resized).
    scale_factor: int = 16
    flip: bool = True  # HRNet's Cityscapes recipe: random horizontal flips
    train_split: str = "train"
    val_split: str = "val"

    def __post_init__(self) -> None:
        if self.class_weights and len(self.class_weights) != len(TRAIN_CLASSES):
            raise ValueError(f"task.class_weights needs one weight per class ({len(TRAIN_CLASSES)}) or none; "
                             f"got {len(self.class_weights)}")
        if self.scale_factor < 0:
            raise ValueError(f"task.scale_factor must not be negative; got {self.scale_factor}")


def resize_pair(image: np.ndarray, labels: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Image (bilinear) and train ids (nearest: no invented classes) resized to ``size`` (H, W)."""
    from PIL import Image

    wh = (size[1], size[0])
    return (np.array(Image.fromarray(image).resize(wh, Image.BILINEAR)),
            np.array(Image.fromarray(labels).resize(wh, Image.NEAREST)))


def random_crop(image: np.ndarray, labels: np.ndarray, size: tuple[int, int], rng: np.random.Generator):
    """A ``size`` crop at a random place; a smaller frame is padded first (black, ignored labels)."""
    h, w = size
    pad_h, pad_w = max(h - labels.shape[0], 0), max(w - labels.shape[1], 0)
    if pad_h or pad_w:
        image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)))
        labels = np.pad(labels, ((0, pad_h), (0, pad_w)), constant_values=IGNORE_INDEX)
    top, left = rng.integers(labels.shape[0] - h + 1), rng.integers(labels.shape[1] - w + 1)
    return image[top : top + h, left : left + w], labels[top : top + h, left : left + w]


class StreetFrames(Dataset):
    """(image (3, H, W) in [0, 1], train ids (H, W) int64) pairs read from disk on demand.

    Training items are augmented crops of the input size, drawn from a generator seeded by
    (seed, epoch, index) so that a resumed run sees the same crops; val items are whole frames.
    """

    def __init__(self, items: tuple[CityscapesItem, ...], config: SegmentationTaskConfig, train: bool,
                 seed: int = 0) -> None:
        self.items, self.config, self.train, self.seed, self.epoch = items, config, train, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, labels = read_pair(self.items[index])
        if self.train:
            image, labels = self.augment(image, labels, np.random.default_rng([self.seed, self.epoch, index]))
        return frames_to_tensor(image[None])[0], torch.from_numpy(labels.astype(np.int64))

    def augment(self, image: np.ndarray, labels: np.ndarray, rng: np.random.Generator):
        c = self.config
        size = c.model.input_size
        if c.scale_factor:
            scale = 0.5 + rng.integers(0, c.scale_factor + 1) / 10.0
            image, labels = resize_pair(image, labels, (round(size[0] * scale), round(size[1] * scale)))
            image, labels = random_crop(image, labels, size, rng)
        else:
            image, labels = resize_pair(image, labels, size)
        if c.flip and rng.random() < 0.5:
            image, labels = image[:, ::-1], labels[:, ::-1]
        return np.ascontiguousarray(image), np.ascontiguousarray(labels)


class SegmentationTask(Task):
    family = SEGMENTATION
    Config = SegmentationTaskConfig
    selection_metric = "mIoU"  # section 3.1.2: the networks are compared by their best val mIoU
    selection_mode = "max"

    def model_config(self) -> SegmentationConfig:
        """The model config, ``pretrained`` set by ``--init`` (the export records it)."""
        return replace(self.config.model, pretrained=is_pretrained(self.init))

    def build_model(self, init: str) -> torch.nn.Module:
        self.init = init
        return create_model(SEGMENTATION, self.model_config())

    def build_datasets(self, data_dir: Path) -> tuple[Dataset, Dataset | None]:
        cfg = self.config
        train = StreetFrames(read_cityscapes(data_dir, cfg.train_split), cfg, train=True)
        has_val = (Path(data_dir) / "leftImg8bit" / cfg.val_split).is_dir()
        return train, StreetFrames(read_cityscapes(data_dir, cfg.val_split), cfg, train=False) if has_val else None

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy over pixels, weighted per class (Table 1), ignoring label 255."""
        weights = self.config.class_weights
        weight = torch.tensor(weights, device=logits.device) if weights else None
        return F.cross_entropy(logits.float(), labels, weight=weight, ignore_index=IGNORE_INDEX)

    def compute_losses(self, model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        images, labels = batch
        return {"loss": self.loss(model(images), labels)}

    def evaluate(self, model: torch.nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
        """Val loss and mIoU (percent) from one confusion matrix over every val pixel."""
        confusion = np.zeros((len(TRAIN_CLASSES), len(TRAIN_CLASSES)), np.int64)
        loss, count = 0.0, 0
        for images, labels in batches:
            logits = model(images)
            loss += float(self.loss(logits, labels)) * len(images)
            count += len(images)
            confusion += confusion_matrix(labels.cpu().numpy(), logits.argmax(dim=1).cpu().numpy(), len(TRAIN_CLASSES))
        return {"loss": loss / max(count, 1), "mIoU": mean_iou(confusion)}

    def export_meta(self) -> dict[str, Any]:
        return {"classes": list(TRAIN_CLASSES), "class_weights": list(self.config.class_weights),
                "note": "semantic segmentation, Cityscapes train ids (van Keeken et al., section 3.1)"}
