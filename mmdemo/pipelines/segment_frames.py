"""What is where in these frames? Cityscapes' 19 classes per pixel, as colour overlays.

The app shows it on the frames the scene classifier sampled (the Scene tab's "Show
segmentation"). The model is the export in ``<checkpoint root>/segmentation/``, written by
``python -m training segmentation``; without one the feature says it is not installed.

One ``FrameSegmenter`` serves every user: it holds only a read-only model, and all that belongs
to a request is in its ``SegmentationResult``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdemo.config import Settings
from mmdemo.errors import InputError

if TYPE_CHECKING:  # imported when first needed: it pulls in torch and timm
    from mmdemo.models.segmentation import HRNetSegmenter

CHECKPOINT_DIR = "segmentation"  # the export under the checkpoint root
OVERLAY_ALPHA = 0.5  # how strongly the class colours cover the frame


@dataclass
class SegmentationResult:
    labels: np.ndarray  # (F, H, W) uint8 Cityscapes train ids
    overlays: np.ndarray  # (F, H, W, 3) uint8 frames with the class colours blended in
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


class FrameSegmenter:
    """Load cheaply with ``load`` (or ``from_dir``); the model is built on first use."""

    def __init__(self, settings: Settings, root: Path | None = None) -> None:
        self.settings = settings
        self.root = root if root is not None else settings.checkpoint_root / CHECKPOINT_DIR
        self._model: HRNetSegmenter | None = None
        self._load_lock = threading.Lock()

    @classmethod
    def load(cls, settings: Settings) -> FrameSegmenter:
        return cls(settings)

    @classmethod
    def from_dir(cls, path: str | Path, settings: Settings | None = None) -> FrameSegmenter:
        return cls(settings or Settings(), Path(path))

    def available(self) -> bool:
        return self.root.is_dir()

    def model(self) -> HRNetSegmenter:
        with self._load_lock:
            if self._model is None:
                from mmdemo.models.segmentation import load_segmenter

                if not self.available():
                    raise InputError(f"No segmentation model is installed (expected an export of "
                                     f"python -m training segmentation in {self.root}).")
                self._model = load_segmenter(self.root).to(self.settings.device)
            return self._model

    def run(self, frames: np.ndarray) -> SegmentationResult:
        """Segment (F, H, W, 3) uint8 RGB frames; InputError when there are none."""
        from mmdemo.data.cityscapes import TRAIN_CLASSES
        from mmdemo.models.segmentation import overlay

        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or not len(frames):
            raise InputError("There are no video frames to segment (an audio-only file has none).")
        model = self.model()
        started = time.perf_counter()
        labels = model.predict(frames)
        timings = {"segment": time.perf_counter() - started}
        return SegmentationResult(labels, overlay(frames, labels, OVERLAY_ALPHA),
                                  [class_shares(m, TRAIN_CLASSES) for m in labels], timings)
