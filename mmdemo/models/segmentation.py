"""Semantic segmentation of street frames: an HRNet backbone with the HRNetV2 head, Cityscapes' 19 classes.

Paper: van Keeken et al., "pretrained vs scratch" (../shared/papers/pretrained-vs-scratch-hrnet-distilbert.txt),
section 3.1: an HRNet trained on Cityscapes once from ImageNet weights and once from random ones.
Read top to bottom:

1. ``SegmentationConfig``: which timm HRNet, ImageNet weights or not, the size the network sees.
2. ``HRNetSegmenter``: the backbone's four parallel branches (1/4 to 1/32 of the input), each
   upsampled to the 1/4 branch and concatenated, then the HRNetV2 head of Wang et al. [22]
   (1x1 conv-BN-ReLU, 1x1 conv to the 19 classes), upsampled back to the input's size.
   ``predict`` turns uint8 frames into maps of train ids (``mmdemo.data.cityscapes``); the UI colours
   them (``mmdemo.ui.plots.overlay``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mmdemo.data.cityscapes import TRAIN_CLASSES
from mmdemo.models.scene import backbone_normalize, frames_to_tensor

BRANCHES = (1, 2, 3, 4)  # timm feature indices of HRNet's four branch outputs (0 is the stem)
STRIDE = 32  # the lowest branch is 1/32 of the input; HRNet's fusions need sizes divisible by it


@dataclass(frozen=True)
class SegmentationConfig:
    # The HRNet-W18 (timm "hrnet_w18": 9.6M parameters without its classifier). Section
    # 3.1.2 fine-tunes the smaller HRNet-W18-C-Small-v1, timm's "hrnet_w18_small" (1.5M), which
    # the bundled CPU model uses. Any timm HRNet works.
    backbone: str = "hrnet_w18"
    # Section 3.1.2: one network starts from ImageNet weights (timm's, downloaded), the other
    # from weights "sampled from the normal distribution" (timm's random init).
    pretrained: bool = False
    # (height, width) the network sees; frames of any size are resized to it and the logits
    # back to the frame. Section 3.1.2: 1024 x 512 images (width x height).
    input_size: tuple[int, int] = (512, 1024)

    def __post_init__(self) -> None:
        if not self.backbone.startswith("hrnet"):
            raise ValueError(f"backbone must be a timm HRNet (hrnet_w18, hrnet_w18_small, ...); got {self.backbone!r}")
        if any(side <= 0 or side % STRIDE for side in self.input_size):
            raise ValueError(f"input_size sides must be positive multiples of {STRIDE}; got {self.input_size}")


def hrnet_branches(config: SegmentationConfig) -> nn.Module:
    """The timm HRNet up to its four branch outputs (no classification head).

    With ``pretrained`` the ImageNet weights must load; there is no silent fallback to random
    weights, which would turn a pretrained-vs-scratch comparison into scratch against scratch.
    """
    import timm

    try:
        return timm.create_model(config.backbone, pretrained=config.pretrained, features_only=True,
                                 feature_location="", out_indices=BRANCHES)
    except OSError as error:  # the download (or the Hugging Face cache) failed
        raise RuntimeError(
            f"The ImageNet weights of {config.backbone} could not be loaded ({error}). Make them reachable "
            "(a network with HF_HUB_OFFLINE=0, or a filled Hugging Face cache), or train from random weights "
            "with --init scratch."
        ) from None


class HRNetSegmenter(nn.Module):
    """HRNet + HRNetV2 head: RGB frames -> per-pixel logits over the 19 Cityscapes classes."""

    def __init__(self, config: SegmentationConfig = SegmentationConfig()) -> None:
        super().__init__()
        self.config = config
        self.backbone = hrnet_branches(config)
        self.normalize = backbone_normalize(self.backbone)
        width = sum(self.backbone.feature_info.channels())  # 270 for W18: 18 + 36 + 72 + 144
        self.head = nn.Sequential(
            nn.Conv2d(width, width, kernel_size=1),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, len(TRAIN_CLASSES), kernel_size=1),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [0, 1] (``frames_to_tensor``) -> (B, 19, H, W) logits."""
        size = images.shape[-2:]
        x = images
        if tuple(size) != self.config.input_size:
            x = F.interpolate(x, size=self.config.input_size, mode="bilinear", align_corners=False, antialias=True)
        branches = self.backbone(self.normalize(x))
        high = branches[0].shape[-2:]
        x = torch.cat([branches[0]] + [F.interpolate(b, size=high, mode="bilinear", align_corners=False)
                                       for b in branches[1:]], dim=1)
        return F.interpolate(self.head(x), size=size, mode="bilinear", align_corners=False)

    @torch.inference_mode()
    def predict(self, frames: np.ndarray, batch_size: int = 8) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB frames -> (N, H, W) uint8 train ids; call it in eval mode."""
        device = next(self.parameters()).device
        maps = [self(frames_to_tensor(frames[i : i + batch_size]).to(device)).argmax(dim=1).byte().cpu().numpy()
                for i in range(0, len(frames), batch_size)]
        return np.concatenate(maps) if maps else np.zeros(frames.shape[:3], np.uint8)

