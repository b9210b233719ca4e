"""Language-based audio retrieval: an audio tower and a text tower meeting in one space.

Primus, Koutini and Widmer, "CP-JKU's submission to task 6b of the DCASE2023 challenge:
audio retrieval with PaSST and GPT-augmented captions" (section 2). Read top to bottom:

- the audio front end (2.5): 32 kHz waveform -> 128-bin log-mel, 1024-point FFT, hop 320,
  centred and scaled by a global mean and deviation;
- the audio tower (2.1): PaSST-S, -N or -S15 from hear21passt (structured patchout while
  training), or a compact CNN on the same log-mels that trains on a CPU (ours);
- the text tower (2.2): any Hugging Face encoder, CLS or mean pooled, on captions lowercased
  without punctuation and cut at 32 tokens (2.5);
- linear projections of both to a shared 1024-d space (2.3), the cosine similarity matrix C
  and the symmetric NT-Xent loss over it (``mmdemo.models.losses.symmetric_cross_entropy``),
  with a learnable temperature;
- inference segmenting: long recordings are cut into fixed segments that are embedded
  separately and averaged (2.5; the search service is ``mmdemo.pipelines.audio_retriever``).
"""

from __future__ import annotations

import contextlib
import io
import math
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mmdemo.checkpoint import trained_state_dict
from mmdemo.media.spectrogram import MelSpectrogram
from mmdemo.models.encoders import TextEncoder, TextEncoderConfig, train_top_layers



@dataclass(frozen=True)
class AudioFrontEndConfig:
    # Section 2.5: 128 mel bins, 1024-point FFT (32 ms), hop 320 (10 ms) at 32 kHz.
    sample_rate: int = 32000
    n_mels: int = 128
    n_fft: int = 1024
    win_length: int = 800  # 25 ms: the window PaSST's released weights were trained with
    hop: int = 320
    # Section 2.5: "centered and whitened with the approximate global mean and standard
    # deviation"; these are PaSST's own (log-mel + 4.5) / 5.
    mean: float = -4.5
    std: float = 5.0


@dataclass(frozen=True)
class PaSSTVariant:
    arch: str  # hear21passt architecture name
    stride: int  # patch stride in both axes: 10 = overlapping 16x16 patches, 16 = none
    input_frames: int  # length of the positional encoding, in spectrogram frames
    segment_seconds: float  # the audio fed to the model at once
    patchout_freq: int  # structured patchout: patch rows dropped while training
    patchout_time: int  # structured patchout: patch columns dropped while training


# Section 2.1: the three PaSST models and their structured patchout.
PASST_VARIANTS = {
    "S": PaSSTVariant("passt_s_swa_p16_128_ap476", 10, 998, 10.0, 4, 50),  # 12 x 99 -> 8 x 49 patches
    "N": PaSSTVariant("passt_s_p16_s16_128_ap468", 16, 998, 10.0, 2, 15),  # 8 x 62 -> 6 x 47
    "S15": PaSSTVariant("passt_20sec", 10, 2000, 15.0, 4, 80),  # 20 s encoding fed 15 s: 12 x 149 -> 8 x 69
}


@dataclass(frozen=True)
class AudioTowerConfig:
    kind: str = "cnn"  # "cnn" (ours: trains on a CPU) or "passt" (section 2.1, the paper's)
    passt_variant: str = "S"  # a key of PASST_VARIANTS
    passt_pretrained: bool = False  # True downloads the AudioSet release weights (needs the network)
    cnn_channels: tuple[int, ...] = (16, 32, 64, 128)  # one block (two 3x3 convs + pool) each
    cnn_segment_seconds: float = 10.0  # section 2.5: 10 s segments, as PaSST-S
    dropout: float = 0.2

    @property
    def segment_seconds(self) -> float:
        return PASST_VARIANTS[self.passt_variant].segment_seconds if self.kind == "passt" else self.cnn_segment_seconds


@dataclass(frozen=True)
class DualEncoderConfig:
    front_end: AudioFrontEndConfig = field(default_factory=AudioFrontEndConfig)
    audio: AudioTowerConfig = field(default_factory=AudioTowerConfig)
    # Section 2.2: BERT / RoBERTa with the CLS token; the bundled MiniLM is mean pooled.
    # Section 2.5: captions are cut at 32 tokens. Normalisation happens after the projection.
    text: TextEncoderConfig = field(default_factory=lambda: TextEncoderConfig(max_length=32, normalize=False))
    text_train_layers: int = -1  # fine-tuned top text layers; -1 = all (the paper); N >= 0 exports only those
    embed_dim: int = 1024  # section 2.3: linear projections to a shared 1024-d space
    init_temperature: float = 0.05  # ours: the paper does not state tau; it is learned from here
    max_logit_scale: float = 100.0  # 1 / tau is clamped here, as in CLIP


# ----------------------------------------------------------------------------------------------
# Text: the caption preprocessing of section 2.5

def normalize_caption(text: str) -> str:
    """Lowercase, punctuation removed, whitespace collapsed (section 2.5).

    Apostrophes vanish ("dog's" -> "dogs"); other punctuation becomes a space so that
    "high-pitched" stays two words instead of fusing into one unknown token.
    """
    characters = (
        "" if character in "'\u2019" else " " if unicodedata.category(character).startswith("P") else character
        for character in text.lower()
    )
    return " ".join("".join(characters).split())


def tokenize_captions(tokenizer: Any, captions: Sequence[str], max_length: int) -> dict[str, torch.Tensor]:
    """Section 2.5: normalised captions, padded to the longest, cut at ``max_length`` tokens."""
    batch = tokenizer([normalize_caption(c) for c in captions], padding=True, truncation=True,
                      max_length=max_length, return_tensors="pt")
    return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}


# ----------------------------------------------------------------------------------------------
# Audio: front end and towers


class LogMel(nn.Module):
    """(B, samples) waveform -> (B, 1, n_mels, frames) normalised log-mel spectrogram."""

    def __init__(self, config: AudioFrontEndConfig) -> None:
        super().__init__()
        self.config = config
        self.mel = MelSpectrogram(config.sample_rate, config.n_fft, config.hop, config.n_mels,
                                  win_length=config.win_length)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        with torch.autocast(waveform.device.type, enabled=False):  # the STFT wants float32
            mel = self.mel(waveform.float())
        return ((torch.log(mel + 1e-5) - self.config.mean) / self.config.std).unsqueeze(1)


class CompactCNN(nn.Module):
    """A small VGG-style CNN over log-mels (ours, sized for a CPU).

    A stride-2 stem halves both axes first (most of the cost of a CNN is in its full-resolution
    layers), then blocks of two 3x3 convolutions and 2x2 pooling; the clip vector is the mean
    over time of the maximum over frequency.
    """

    def __init__(self, config: AudioTowerConfig) -> None:
        super().__init__()

        def conv(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        width = config.cnn_channels[0]
        layers = conv(1, width, stride=2)
        for channels in config.cnn_channels:
            layers += [*conv(width, channels), *conv(channels, channels), nn.AvgPool2d(2)]
            width = channels
        self.layers = nn.Sequential(*layers)
        self.dropout = nn.Dropout(config.dropout)
        self.dim = width

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.layers(mel)  # (B, C, F', T')
        return self.dropout(x.amax(dim=2).mean(dim=2))


class PaSSTTower(nn.Module):
    """PaSST from hear21passt (section 2.1): the mean of its class and distillation tokens.

    hear21passt prints while building and on its first forward; both are silenced here.
    """

    def __init__(self, config: AudioTowerConfig, n_mels: int, pretrained: bool) -> None:
        super().__init__()
        from hear21passt.models import passt

        variant = PASST_VARIANTS[config.passt_variant]
        with contextlib.redirect_stdout(io.StringIO()):
            self.net = passt.get_model(
                arch=variant.arch, pretrained=pretrained, n_classes=527, in_channels=1,
                fstride=variant.stride, tstride=variant.stride, input_fdim=n_mels, input_tdim=variant.input_frames,
                s_patchout_t=variant.patchout_time, s_patchout_f=variant.patchout_freq,
            )
        passt.first_RUN = False  # the module-level flag behind its first-forward printing
        self.net.head = nn.Identity()  # unused AudioSet classifier; keeps DDP from idle parameters
        self.net.head_dist = nn.Identity()
        self.max_frames = variant.input_frames
        self.dim = int(self.net.embed_dim)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        mel = mel[..., : self.max_frames]
        with warnings.catch_warnings():  # it warns on every input shorter than its positional encoding
            warnings.simplefilter("ignore", UserWarning)
            cls_token, dist_token = self.net.forward_features(mel)
        return (cls_token + dist_token) / 2


def build_audio_tower(config: AudioTowerConfig, n_mels: int, pretrained: bool) -> nn.Module:
    """``pretrained``: load PaSST's release weights (when ``config.passt_pretrained`` asks for them)."""
    if config.kind == "cnn":
        return CompactCNN(config)
    if config.kind == "passt":
        if config.passt_variant not in PASST_VARIANTS:
            raise ValueError(f"unknown PaSST variant {config.passt_variant!r}; use one of {', '.join(PASST_VARIANTS)}")
        return PaSSTTower(config, n_mels, pretrained and config.passt_pretrained)
    raise ValueError(f"unknown audio tower {config.kind!r}; use 'cnn' or 'passt'")


# ----------------------------------------------------------------------------------------------
# The dual encoder


class DualEncoder(nn.Module):
    """phi_a and phi_c of section 2, each followed by its projection to the shared space."""

    def __init__(self, config: DualEncoderConfig, text: TextEncoder, pretrained_audio: bool = False) -> None:
        super().__init__()
        self.config = config
        self.front_end = LogMel(config.front_end)
        self.audio = build_audio_tower(config.audio, config.front_end.n_mels, pretrained_audio)
        self.text = text
        train_top_layers(text.backbone, config.text_train_layers)
        self.audio_proj = nn.Linear(self.audio.dim, config.embed_dim)  # section 2.3
        self.text_proj = nn.Linear(text.dim, config.embed_dim)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / config.init_temperature)))

    @classmethod
    def from_config(cls, config: DualEncoderConfig = DualEncoderConfig(), pretrained: bool = True,
                    pretrained_audio: bool | None = None) -> DualEncoder:
        """Pretrained text weights (and PaSST's if ``audio.passt_pretrained``), or random ones.

        ``pretrained_audio`` defaults to ``pretrained``; loading an export sets it False, since
        the export holds the audio tower's weights.
        """
        text = TextEncoder.from_config(config.text, pretrained=pretrained)
        return cls(config, text, pretrained if pretrained_audio is None else pretrained_audio)

    @property
    def device(self) -> torch.device:
        return self.audio_proj.weight.device

    @property
    def segment_samples(self) -> int:
        return round(self.config.audio.segment_seconds * self.config.front_end.sample_rate)

    def logit_scale(self) -> torch.Tensor:
        return self.log_scale.exp().clamp(max=self.config.max_logit_scale)

    def embed_audio(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(B, samples) at the front end's rate -> (B, embed_dim) unit vectors."""
        return F.normalize(self.audio_proj(self.audio(self.front_end(waveforms))), dim=-1)

    def tokenize(self, captions: Sequence[str]) -> dict[str, torch.Tensor]:
        return tokenize_captions(self.text.tokenizer, captions, self.config.text.max_length)

    def embed_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token ids -> (B, embed_dim) unit vectors."""
        return F.normalize(self.text_proj(self.text(input_ids, attention_mask)), dim=-1)

    def forward(self, waveforms: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The scaled similarity matrix: row i = audio i against every caption."""
        audio = self.embed_audio(waveforms)
        text = self.embed_text(input_ids, attention_mask)
        return self.logit_scale() * audio @ text.T

    def trained_state_dict(self) -> dict[str, torch.Tensor]:
        """All weights, less the frozen text layers when only the top ones were fine-tuned."""
        return trained_state_dict(self, "text.backbone.")


# ----------------------------------------------------------------------------------------------
# Inference: fixed segments, averaged


def segment_waveform(waveform: np.ndarray, segment: int) -> np.ndarray:
    """Cut a waveform into ``segment``-sample pieces for embedding one by one (section 2.5).

    A clip no longer than one segment stays whole. A longer one is cut from the start, and its
    last piece ends at the clip's end (overlapping the one before), so that every piece is full
    length and nothing depends on chance: the same file always gives the same pieces.
    """
    n = len(waveform)
    if n <= segment:
        return waveform[None, :]
    starts = list(range(0, n - segment + 1, segment))
    if starts[-1] + segment < n:
        starts.append(n - segment)
    return np.stack([waveform[s : s + segment] for s in starts])


