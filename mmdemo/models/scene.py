"""Audio-visual scene classification: the three model kinds of the paper, the loss, clip averaging.

Paper: Okazaki, Kong, Yoshinaga, "A multi-modal fusion approach for audio-visual scene
classification enhanced by CLIP variants" (../shared/papers/av-scene-classification-clip-fusion.txt).
Read top to bottom:

1. Backbones: any timm CNN, random weights offline, ImageNet weights behind ``pretrained``.
   The paper's are listed in ``AUDIO_BACKBONES`` / ``FRAME_BACKBONES`` and one
   ``Config.paper("A01")`` away; the defaults are timm's tiny test models so that training
   runs on a CPU in minutes.
2. ``AudioSceneModel`` (section 2.1): a 1 s waveform -> log-mel with delta and delta-delta
   channels (48 kHz, 256 mels, n_fft 4096, hop 512, as librosa computes them) -> resized to
   256 x 100 x 3 (section 3) -> CNN. Training adds random gain and frequency masking (section 3).
3. ``FrameSceneModel`` (section 2.2): one RGB frame -> resized square -> CNN; 12 frames per
   10 s clip (``frame_indices``); training adds RandomAffine, ColorJitter, GaussianBlur and
   RandomErasing with the section 3 settings.
4. ``CLIPLateFusion`` (section 2.3, Table 1): cached CLIP image features of one frame from
   several CLIP image encoders, one branch each, concatenated, two Linear layers.
5. ``ZeroShotCLIP`` (Table 2, C01-C03): class names as sentences -> CLIP text embeddings;
   a clip's mean frame embedding is compared with them, scaled by CLIP's logit scale.
6. ``focal_loss`` (section 3, gamma 2) and ``segment_average`` (section 2.4: a clip's
   confidences are the mean over its 1 s segments or its frames).
7. ``SceneModel``: a trained model with its ensemble name and class names, as
   ``mmdemo.models.factory.load_model`` gives a scene export back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mmdemo.media.spectrogram import MelSpectrogram, deltas

# Table 2 backbones as timm names. Built with 10 classes they have Table 5's parameter counts
# (regnetx_064 24.60M, resnest50d 25.45M, hrnet_w18 19.27M), which is how the names were chosen.
AUDIO_BACKBONES = {"A01": "regnetx_064", "A02": "resnest50d", "A03": "tf_efficientnet_b1.ns_jft_in1k"}
FRAME_BACKBONES = {"V01": "regnetx_064", "V02": "resnest50d", "V03": "hrnet_w18"}
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # timm's defaults


def create_backbone(name: str, num_classes: int, pretrained: bool) -> nn.Module:
    """A timm classifier taking 3-channel input (ImageNet weights when ``pretrained``)."""
    import timm

    return timm.create_model(name, pretrained=pretrained, in_chans=3, num_classes=num_classes)


# ----------------------------------------------------------------------------------------------
# Audio: log-mel + deltas into a CNN (section 2.1)


@dataclass(frozen=True)
class AudioSceneConfig:
    num_classes: int = 10  # section 1: TAU Audio-Visual Urban Scenes 2021 has 10 scene classes
    # Ours, for CPU: timm's tiny EfficientNet (0.1M parameters). The paper's A01-A03 are
    # AUDIO_BACKBONES (``AudioSceneConfig.paper("A01")``).
    backbone: str = "test_efficientnet"
    pretrained: bool = False  # section 3: the paper starts from timm's ImageNet weights
    sample_rate: int = 48000  # section 2.1: sr = 48 kHz
    n_mels: int = 256  # section 2.1: n_mels = 256
    n_fft: int = 4096  # section 2.1: n_fft = 4096
    hop: int = 512  # section 2.1: hop_length = 512
    # Section 2.1 makes the log-mel with librosa; its power_to_db default floors dB at 80 below
    # each segment's peak. The delta window is not given; ours: the standard 5-frame regression
    # (mmdemo.media.spectrogram.deltas), and delta-delta is the delta of the delta.
    top_db: float = 80.0
    delta_width: int = 5
    segment_seconds: float = 1.0  # section 2.1: every 10 s clip is cut into ten 1 s segments
    input_size: tuple[int, int] = (256, 100)  # section 3: "Resized to 256 x 100 x 3" (mels x frames)
    # Section 3 names "Random Gain" and "Frequency Masking" [SpecAugment] without their
    # ranges; ours: a gain uniform in +-6 dB and one band of up to 32 of the 256 mel bins.
    gain_db: float = 6.0
    freq_mask_bins: int = 32

    @classmethod
    def paper(cls, index: str, **changes) -> AudioSceneConfig:
        """The Table 2 audio model ``index`` ("A01", "A02" or "A03")."""
        return replace(cls(backbone=AUDIO_BACKBONES[index]), **changes)


class LogMelDeltas(nn.Module):
    """(B, samples) -> (B, 3, n_mels, frames): log-mel in dB, its delta and its delta-delta.

    The mel filters are librosa's (Slaney scale and area normalisation), as the paper used
    librosa; they are rebuilt from the config, so they are not stored in checkpoints.
    """

    def __init__(self, config: AudioSceneConfig) -> None:
        super().__init__()
        self.config = config
        self.mel = MelSpectrogram(config.sample_rate, config.n_fft, config.hop, config.n_mels,
                                  scale="slaney", area_normalize=True)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        c = self.config
        with torch.autocast(waveform.device.type, enabled=False):  # dB of tiny powers needs float32
            mel = self.mel(waveform.float())  # (B, n_mels, frames)
            db = 10.0 * torch.log10(mel.clamp_min(1e-10))
            db = torch.maximum(db, db.amax(dim=(1, 2), keepdim=True) - c.top_db)
            delta = deltas(db, c.delta_width)
            delta2 = deltas(delta, c.delta_width)
        return torch.stack([db, delta, delta2], dim=1)


def frequency_mask(features: torch.Tensor, max_bins: int) -> torch.Tensor:
    """SpecAugment frequency masking: zero one band of 0..max_bins mel bins per example, all channels."""
    b, _, n_mels, _ = features.shape
    width = torch.randint(0, max_bins + 1, (b, 1), device=features.device)
    start = (torch.rand(b, 1, device=features.device) * (n_mels - width + 1)).long()
    bins = torch.arange(n_mels, device=features.device)
    band = (bins >= start) & (bins < start + width)  # (b, n_mels)
    return features.masked_fill(band[:, None, :, None], 0.0)


class AudioSceneModel(nn.Module):
    """Section 2.1: one 1 s waveform segment -> scene logits."""

    def __init__(self, config: AudioSceneConfig = AudioSceneConfig()) -> None:
        super().__init__()
        self.config = config
        self.frontend = LogMelDeltas(config)
        # Ours: dB values and their deltas differ in scale by orders of magnitude; a BatchNorm
        # brings the three channels to comparable ranges (0 after it is also the mask value).
        self.input_norm = nn.BatchNorm2d(3)
        self.backbone = create_backbone(config.backbone, config.num_classes, config.pretrained)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, samples) at ``config.sample_rate`` -> (B, num_classes) logits."""
        c = self.config
        if self.training and c.gain_db > 0:
            gain_db = (2 * torch.rand(waveform.shape[0], 1, device=waveform.device) - 1) * c.gain_db
            waveform = waveform * 10.0 ** (gain_db / 20.0)
        x = self.input_norm(self.frontend(waveform))
        if self.training and c.freq_mask_bins > 0:
            x = frequency_mask(x, c.freq_mask_bins)
        x = F.interpolate(x, size=c.input_size, mode="bilinear", align_corners=False)
        return self.backbone(x)


def split_segments(waveform: np.ndarray | torch.Tensor, config: AudioSceneConfig) -> torch.Tensor:
    """Section 2.1: a mono clip (samples,) -> (S, segment samples) whole 1 s segments.

    A tail shorter than one segment is dropped (it would be mostly padding); a clip shorter
    than one segment becomes one zero-padded segment.
    """
    waveform = torch.as_tensor(waveform, dtype=torch.float32)
    length = round(config.sample_rate * config.segment_seconds)
    if waveform.shape[-1] < length:
        waveform = F.pad(waveform, (0, length - waveform.shape[-1]))
    count = waveform.shape[-1] // length
    return waveform[: count * length].reshape(count, length)


# ----------------------------------------------------------------------------------------------
# Frames into a CNN (section 2.2)


@dataclass(frozen=True)
class FrameSceneConfig:
    num_classes: int = 10  # section 1: 10 scene classes
    # Ours, for CPU: timm's tiny ResNet (0.4M parameters) on 128 x 128 frames. The paper's
    # V01-V03 are FRAME_BACKBONES at 448 x 448 (``FrameSceneConfig.paper("V01")``).
    backbone: str = "test_resnet"
    pretrained: bool = False  # section 3: the paper starts from timm's ImageNet weights
    image_size: int = 128  # section 3: "Resized to 448 x 448 x 3"
    frames_per_clip: int = 12  # section 2.2: 12 frames from each 10 s video, at equal intervals
    clip_seconds: float = 10.0  # section 2.2
    # Section 3 augmentations; what it leaves unset is PyTorch's default. ColorJitter()'s
    # defaults (brightness, contrast, saturation, hue) are all 0, so as written it changes nothing.
    affine_degrees: float = 10.0  # RandomAffine degrees [-10, 10]
    affine_translate: tuple[float, float] = (0.1, 0.1)  # RandomAffine translate
    affine_scale: tuple[float, float] = (0.5, 1.5)  # RandomAffine scale
    color_jitter: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # ColorJitter defaults
    blur_kernel: int = 11  # GaussianBlur kernel (11, 11); sigma PyTorch's default U(0.1, 2.0)
    erasing_p: float = 0.5  # RandomErasing defaults: p 0.5, area 2-33 %, aspect 0.3-3.3, value 0 (the mean, after normalisation)

    @classmethod
    def paper(cls, index: str, **changes) -> FrameSceneConfig:
        """The Table 2 frame model ``index`` ("V01", "V02" or "V03") at section 3's 448 x 448."""
        return replace(cls(backbone=FRAME_BACKBONES[index], image_size=448), **changes)


def frame_indices(num_frames: int, duration: float, config: FrameSceneConfig) -> np.ndarray:
    """Section 2.2: which of a video's ``num_frames`` decoded frames to classify.

    12 per 10 s at equal intervals (the middle of each interval), so a 10 s clip gives 12;
    at least 1 and at most ``num_frames``.
    """
    wanted = round(config.frames_per_clip * duration / config.clip_seconds)
    count = min(max(wanted, 1), num_frames)
    return np.floor((np.arange(count) + 0.5) * num_frames / count).astype(np.int64)


def frames_to_tensor(frames: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 RGB -> (N, 3, H, W) float in [0, 1], the input of ``FrameSceneModel``."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0


def each_image(transform: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Apply a torchvision transform image by image, so every image draws its own parameters."""
    return torch.stack([transform(image) for image in images])


def backbone_normalize(backbone: nn.Module) -> nn.Module:
    """(x - mean) / std per channel with a timm backbone's own statistics (ImageNet's where it names none)."""
    from torchvision.transforms import v2

    stats = backbone.pretrained_cfg
    return v2.Normalize(list(stats.get("mean", IMAGENET_MEAN)), list(stats.get("std", IMAGENET_STD)))


class FrameSceneModel(nn.Module):
    """Section 2.2: one video frame -> scene logits."""

    def __init__(self, config: FrameSceneConfig = FrameSceneConfig()) -> None:
        super().__init__()
        from torchvision.transforms import v2

        self.config = config
        self.backbone = create_backbone(config.backbone, config.num_classes, config.pretrained)
        self.normalize = backbone_normalize(self.backbone)
        self.augment = v2.Compose([  # section 3, on [0, 1] images
            v2.RandomAffine(config.affine_degrees, translate=config.affine_translate, scale=config.affine_scale),
            v2.ColorJitter(*config.color_jitter),
            v2.GaussianBlur(config.blur_kernel),
        ])
        self.erase = v2.RandomErasing(p=config.erasing_p)  # after normalisation, as torchvision recipes do

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [0, 1] (see ``frames_to_tensor``) -> (B, num_classes) logits."""
        size = self.config.image_size
        x = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        if self.training:
            x = each_image(self.augment, x)
        x = self.normalize(x)
        if self.training:
            x = each_image(self.erase, x)
        return self.backbone(x)


# ----------------------------------------------------------------------------------------------
# CLIP late fusion network (section 2.3, Table 1)


def clip_embed_dim(name: str) -> int:
    """Width of an image encoder's embedding, from its config (no weights are loaded)."""
    from mmdemo.models.efficientnet_lite0 import EfficientNetLite0Config
    from mmdemo.models.encoders import EFFICIENTNET_LITE0

    if name == EFFICIENTNET_LITE0:
        return EfficientNetLite0Config.feature_dim
    import open_clip

    config = open_clip.get_model_config(name)
    if config is None:
        raise ValueError(f"unknown open_clip model {name!r}")
    return int(config["embed_dim"])


@dataclass(frozen=True)
class FusionConfig:
    num_classes: int = 10  # Table 1: Linear(128, 10)
    # Section 2.3: image features of three CLIP image encoders (open_clip names of OpenAI's
    # RN50x4, RN101 and ViT-B/32: 640, 512 and 512 wide). Any set of open_clip models works, and
    # "efficientnet_lite0" (ImageNet features, offline; the bundled network's, with pretrained "imagenet").
    encoders: tuple[str, ...] = ("RN50x4", "RN101", "ViT-B-32")
    # Footnote 3: OpenAI's CLIP weights ("openai"). "" = random weights drawn from
    # ImageEncoderConfig.seed: offline, and the same in the feature cache and in the app.
    pretrained: str = ""
    hidden: int = 512  # Table 1: Linear(d_i, 512), BatchNorm1d(512) in every branch
    dropout: float = 0.2  # Table 1: Dropout(p=0.2)
    branch_dim: int = 256  # Table 1: Linear(512, 256) ends every branch
    fused_dim: int = 128  # Table 1: Linear(256*3, 128) after the concatenation

    def __post_init__(self) -> None:
        if not self.encoders:
            raise ValueError("FusionConfig.encoders must name at least one open_clip model")


class CLIPLateFusion(nn.Module):
    """Table 1: per encoder Linear-BatchNorm1d-ReLU-Dropout-Linear; concatenate; Linear; Linear.

    Table 1 has no non-linearity between the last two Linear layers, and neither has this.
    """

    def __init__(self, config: FusionConfig = FusionConfig()) -> None:
        super().__init__()
        self.config = config
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Linear(clip_embed_dim(name), config.hidden),
                nn.BatchNorm1d(config.hidden),
                nn.ReLU(),
                nn.Dropout(config.dropout),
                nn.Linear(config.hidden, config.branch_dim),
            )
            for name in config.encoders
        )
        self.fuse = nn.Linear(config.branch_dim * len(config.encoders), config.fused_dim)
        self.head = nn.Linear(config.fused_dim, config.num_classes)

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """{encoder name: (N, d_i) image features of N frames} -> (N, num_classes) logits."""
        missing = [name for name in self.config.encoders if name not in features]
        if missing:
            raise KeyError(f"CLIP features missing for {', '.join(missing)}; the network takes {', '.join(self.config.encoders)}")
        x = torch.cat([branch(features[name]) for name, branch in zip(self.config.encoders, self.branches)], dim=-1)
        return self.head(self.fuse(x))


# ----------------------------------------------------------------------------------------------
# Zero-shot CLIP (Table 2, C01-C03)


@dataclass(frozen=True)
class ZeroShotConfig:
    model: str = "ViT-B-32"  # Table 2: C01 RN101, C02 RN50x4, C03 ViT-B/32 (open_clip names)
    pretrained: str = ""  # "" = random weights (offline); "openai" = the paper's (footnote 3)
    # Table 2 caption: "we provided original labels as sentences": street_pedestrian is read as
    # "street pedestrian"; the template may add words around it, e.g. "a photo of a {}.".
    prompt: str = "{}"


def class_prompts(classes: Sequence[str], template: str = "{}") -> list[str]:
    """Class labels as sentences for the CLIP text tower: "street_pedestrian" -> "street pedestrian"."""
    return [template.format(name.replace("_", " ")) for name in classes]


class ZeroShotCLIP(nn.Module):
    """Class-name prompts vs a clip's mean frame embedding, softmaxed at CLIP's logit scale."""

    def __init__(self, config: ZeroShotConfig, class_embeddings: torch.Tensor, logit_scale: float, image_encoder: nn.Module) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("class_embeddings", F.normalize(class_embeddings.float(), dim=-1))  # (C, D)
        self.logit_scale = logit_scale
        self.image_encoder = image_encoder  # the same CLIP model's image tower, for raw frames

    @classmethod
    def from_config(cls, config: ZeroShotConfig, classes: Sequence[str]) -> ZeroShotCLIP:
        """Build one open_clip model: its text tower embeds the prompts once and is dropped."""
        import open_clip

        from mmdemo.models.encoders import ImageEncoder, ImageEncoderConfig

        model = open_clip.create_model(config.model, pretrained=config.pretrained or None)
        tokenizer = open_clip.get_tokenizer(config.model)
        with torch.no_grad():
            text = model.encode_text(tokenizer(class_prompts(classes, config.prompt)))
            scale = model.logit_scale.exp().item()
        image_encoder = ImageEncoder.from_clip(ImageEncoderConfig(model=config.model, pretrained=config.pretrained), model.visual)
        return cls(config, text, scale, image_encoder)

    def forward(self, frame_embeddings: torch.Tensor) -> torch.Tensor:
        """(B, F, D) frame embeddings of B clips -> (B, C) logits = scale * cos(mean frame, class)."""
        clip = F.normalize(frame_embeddings.float().mean(dim=1), dim=-1)
        return self.logit_scale * clip @ self.class_embeddings.T

    def classify_frames(self, frames: np.ndarray) -> np.ndarray:
        """(F, H, W, 3) uint8 frames of one clip -> (C,) class probabilities."""
        embeddings = torch.from_numpy(self.image_encoder.encode(frames)).to(self.class_embeddings.device)
        return self(embeddings[None]).softmax(dim=-1)[0].cpu().numpy()


# ----------------------------------------------------------------------------------------------
# Loss and clip-level averaging


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """Section 3: focal loss [Lin et al.] with gamma 2, mean over the batch.

    FL = -(1 - p_t)^gamma * log p_t: cross-entropy with confident, easy examples weighed down.
    """
    log_pt = F.log_softmax(logits.float(), dim=-1).gather(1, targets[:, None].long()).squeeze(1)
    return ((1.0 - log_pt.exp()) ** gamma * -log_pt).mean()


def segment_average(logits: torch.Tensor, clip_index: torch.Tensor | None = None, num_clips: int | None = None) -> torch.Tensor:
    """Section 2.4: a clip's confidences are the plain mean of its segments' (audio) or frames' (video) softmax.

    ``logits`` (N, C) of N segments or frames; ``clip_index`` (N,) says which clip each belongs
    to (None: all one clip). Returns (num_clips, C); a clip with no rows gets zeros.
    """
    probs = logits.float().softmax(dim=-1)
    if clip_index is None:
        return probs.mean(dim=0, keepdim=True)
    num_clips = num_clips if num_clips is not None else int(clip_index.max()) + 1
    sums = probs.new_zeros(num_clips, probs.shape[1]).index_add_(0, clip_index, probs)
    counts = torch.bincount(clip_index, minlength=num_clips).clamp_min(1)
    return sums / counts[:, None].to(sums.dtype)


@dataclass
class SceneModel:
    """A trained scene model: its ensemble name ("audio", "frames" or "fusion"), the module, its classes."""

    name: str
    model: nn.Module
    classes: tuple[str, ...]
