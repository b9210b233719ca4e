"""What is where in these frames? Cityscapes' 19 classes per pixel (the UI shows them as colour overlays).

The app shows it on the frames the scene classifier sampled (the Scene tab's "Show
segmentation"). The model is the export in ``<checkpoint root>/segmentation/``, written by
``python -m training segmentation``; without one the feature says it is not installed.

One ``FrameSegmenter`` serves every user: it holds only a read-only model, and all that belongs
to a request is in its ``SegmentationResult``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdemo.errors import InputError
from mmdemo.pipelines.base import Pipeline

if TYPE_CHECKING:  # imported when first needed: it pulls in torch and timm
    from mmdemo.models.segmentation import HRNetSegmenter

CHECKPOINT_DIR = "segmentation"  # the export under the checkpoint root


@dataclass
class SegmentationResult:
    labels: np.ndarray  # (F, H, W) uint8 Cityscapes train ids
    frames: np.ndarray  # (F, H, W, 3) uint8 RGB frames the labels are of
    shares: list[dict[str, float]]  # per frame: class -> share of its pixels, largest first
    timings: dict[str, float] = field(default_factory=dict)  # seconds: "segment"

    def to_json(self) -> dict[str, Any]:
        """Per frame, the share of its pixels each class covers (plain JSON types only)."""
        return {"frames": [{name: round(share, 4) for name, share in frame.items()} for frame in self.shares]}


def class_shares(label_map: np.ndarray, classes: tuple[str, ...]) -> dict[str, float]:
    """class -> share of the map's pixels, largest first, classes absent left out."""
    counts = np.bincount(label_map.ravel(), minlength=len(classes))[: len(classes)]
    order = np.argsort(-counts, kind="stable")
    return {classes[i]: float(counts[i]) / label_map.size for i in order if counts[i]}


class FrameSegmenter(Pipeline):
    """Load cheaply with ``load`` (or ``from_dir``); the model is built on first use."""

    checkpoint_dir = CHECKPOINT_DIR
    missing = "No segmentation model is installed (python -m training segmentation exports one)"

    def model(self) -> HRNetSegmenter:
        from mmdemo.models.factory import SEGMENTATION, load_model

        self.require()
        return self.part("model", lambda: load_model(self.root, SEGMENTATION).to(self.settings.device))

    def warm_up(self) -> None:
        self.model()

    def run(self, frames: np.ndarray) -> SegmentationResult:
        """Segment (F, H, W, 3) uint8 RGB frames; InputError when there are none."""
        from mmdemo.data.cityscapes import TRAIN_CLASSES

        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or not len(frames):
            raise InputError("There are no video frames to segment (an audio-only file has none).")
        model = self.model()
        started = time.perf_counter()
        labels = model.predict(frames)
        timings = {"segment": time.perf_counter() - started}
        return SegmentationResult(labels, frames,
                                  [class_shares(m, TRAIN_CLASSES) for m in labels], timings)
