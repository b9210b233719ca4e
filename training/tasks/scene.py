"""Audio-visual scene classification: one of the paper's three models per run.

``--data`` is a folder in the TAU Audio-Visual Urban Scenes 2021 layout (``mmdemo.data.tau``): the
real development set, or one written by ``python -m training.data.synthetic_scenes``. Train is
``fold1_train``, val ``fold1_evaluate`` (the paper's fold1 validation). ``task.model`` picks the
model (Okazaki et al.):

- ``audio`` (section 2.1): trains on 1 s segments, each labelled with its clip's scene;
- ``frames`` (section 2.2): trains on each clip's frames (12 per 10 s), each with its clip's scene;
- ``fusion`` (section 2.3, Table 1): trains on the CLIP features of those same frames, cached by
  ``python -m mmdemo.frame_features --scene --videos <data>/video --out <data>/clip_features``.

Validation scores clips, as the ensemble will: a clip's confidences are the mean over its
segments or frames (section 2.4), scored by log-loss and accuracy; accuracy picks the exported
epoch (section 3: "we used best epoch models in the validation accuracy"). Every model learns
with the focal loss, gamma 2 (section 3). The export's meta.json lists the class names. The
ensemble over the three exports is fitted afterwards by ``python -m training.fit_scene_ensemble``.
"""

from __future__ import annotations

import sys
import wave
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import Dataset

from mmdemo.data.tau import TAU_CLASSES, SceneItem, read_tau, setup_csv
from mmdemo.frame_features import (
    SCENE_FEATURES_DIR,
    load_scene_features,
    read_scene_frames,
)
from mmdemo.media.audio import load_audio
from mmdemo.media.video import probe
from mmdemo.metrics import accuracy, log_loss
from mmdemo.models.encoders import ImageEncoderConfig
from mmdemo.models.scene import (
    AudioSceneConfig,
    FrameSceneConfig,
    FusionConfig,
    focal_loss,
    frames_to_tensor,
    segment_average,
    split_segments,
)
from mmdemo.models.factory import SCENE_FAMILIES, create_model
from training.scratch import is_pretrained
from training.task import Task

# What one clip contributes: (rows, ...) tensors, or {encoder: (rows, dim)} CLIP features.
Rows = np.ndarray | torch.Tensor | dict[str, np.ndarray]


@dataclass
class SceneTaskConfig:
    model: str = "audio"  # the model this run trains: audio (section 2.1) | frames (2.2) | fusion (2.3)
    audio: AudioSceneConfig = field(default_factory=AudioSceneConfig)
    frames: FrameSceneConfig = field(default_factory=FrameSceneConfig)  # its sampling also picks fusion's frames
    fusion: FusionConfig = field(default_factory=FusionConfig)
    # Section 1: the ten TAU scenes, sorted (the column order of DCASE result files). Every
    # label in the data must be one of them; the models' num_classes is set from this list.
    classes: tuple[str, ...] = tuple(sorted(TAU_CLASSES))
    fold: int = 1  # evaluation_setup/fold<fold>_{train,evaluate}.csv (section 2.4: fold1)
    features: str = SCENE_FEATURES_DIR  # fusion: folder under --data with the cached CLIP features
    focal_gamma: float = 2.0  # section 3: focal loss with gamma 2.0

    def __post_init__(self) -> None:
        if self.model not in SCENE_FAMILIES:
            raise ValueError(f"task.model must be one of {', '.join(SCENE_FAMILIES)}; got {self.model!r}")


@dataclass
class SceneBatch:
    inputs: torch.Tensor | dict[str, torch.Tensor]  # N rows: segments, frames or per-frame features
    labels: torch.Tensor  # (B,) one scene per clip (in training every row is its own clip)
    clip_index: torch.Tensor  # (N,) which clip each row belongs to


def audio_seconds(path: Path) -> float:
    """A recording's length: from a WAV header without decoding, else from ffmpeg's probe."""
    try:
        with wave.open(str(path), "rb") as handle:
            return handle.getnframes() / handle.getframerate()
    except (wave.Error, EOFError, OSError):
        return probe(path).duration


class AudioSegments(Dataset):
    """Training (section 2.1): every whole 1 s segment of every clip, labelled with the clip's scene."""

    def __init__(self, items: tuple[SceneItem, ...], config: AudioSceneConfig) -> None:
        self.items, self.config = items, config
        self.length = round(config.sample_rate * config.segment_seconds)
        counts = [max(1, round(audio_seconds(item.audio) * config.sample_rate) // self.length) for item in items]
        self.index = [(i, s) for i, count in enumerate(counts) for s in range(count)]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, int]:
        i, s = self.index[k]
        c = self.config
        waveform = load_audio(self.items[i].audio, c.sample_rate, max_seconds=(s + 1) * c.segment_seconds)
        return split_segments(waveform[s * self.length :], c)[:1], self.items[i].label_index


class AudioClips(Dataset):
    """Validation: each clip whole, as its 1 s segments (averaged by ``evaluate``, section 2.4)."""

    def __init__(self, items: tuple[SceneItem, ...], config: AudioSceneConfig) -> None:
        self.items, self.config = items, config

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        item = self.items[i]
        return split_segments(load_audio(item.audio, self.config.sample_rate), self.config), item.label_index


class ClipRows(Dataset):
    """Preloaded clips as (rows, label); ``per_row`` (training) makes each row its own item."""

    def __init__(self, clips: list[Rows], labels: list[int], per_row: bool) -> None:
        self.clips, self.labels = clips, labels
        self.index = [(i, r) for i, rows in enumerate(clips) for r in range(row_count(rows))] if per_row \
            else [(i, None) for i in range(len(clips))]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int) -> tuple[Rows, int]:
        i, r = self.index[k]
        rows = self.clips[i]
        if r is not None:
            rows = {name: value[r : r + 1] for name, value in rows.items()} if isinstance(rows, dict) else rows[r : r + 1]
        return rows, self.labels[i]


def row_count(rows: Rows) -> int:
    return len(next(iter(rows.values()))) if isinstance(rows, dict) else len(rows)


def square_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, size, size, 3) uint8, resized as ``FrameSceneModel`` resizes its
    input, so that clips of any shape batch together and the model's own resize is the identity."""
    x = F.interpolate(frames_to_tensor(frames), size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return (x.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()


def _progress(items: tuple[SceneItem, ...], desc: str):
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="clip", file=sys.stderr, leave=False)


class SceneTask(Task):
    Config = SceneTaskConfig
    selection_metric = "accuracy"  # section 3: the best epoch by validation accuracy
    selection_mode = "max"

    @property
    def family(self) -> str:  # depends on the model this run trains
        return SCENE_FAMILIES[self.config.model]

    def model_config(self) -> AudioSceneConfig | FrameSceneConfig | FusionConfig:
        """The chosen model's config, with one output per class of ``config.classes``.

        From scratch its ``pretrained`` is off: random timm backbones, and for fusion features
        of random-weight CLIP encoders (the export records it, so the app embeds frames alike).
        """
        config = replace(getattr(self.config, self.config.model), num_classes=len(self.config.classes))
        if is_pretrained(self.init):
            return config
        return replace(config, pretrained="" if self.config.model == "fusion" else False)

    def build_model(self, init: str) -> torch.nn.Module:
        """``--init scratch`` forces random backbones; ``pretrained`` follows the model config's flag."""
        self.init = init
        return create_model(self.family, self.model_config())

    def build_datasets(self, data_dir: Path) -> tuple[Dataset, Dataset | None]:
        cfg = self.config
        train = read_tau(data_dir, "train", cfg.fold, cfg.classes).items
        has_val = setup_csv(data_dir, "evaluate", cfg.fold).is_file()
        val = read_tau(data_dir, "evaluate", cfg.fold, cfg.classes).items if has_val else ()
        if cfg.model == "audio":
            return AudioSegments(train, cfg.audio), (AudioClips(val, cfg.audio) if val else None)
        load = self._frames if cfg.model == "frames" else self._features(Path(data_dir) / cfg.features)
        datasets = []
        for items, per_row in ((train, True), (val, False)):
            clips = [load(item) for item in _progress(items, f"{cfg.model} of {'train' if per_row else 'val'} clips")]
            datasets.append(ClipRows(clips, [item.label_index for item in items], per_row))
        return datasets[0], datasets[1] if len(val) else None

    def _frames(self, item: SceneItem) -> np.ndarray:
        size = self.config.frames.image_size
        frames, _ = read_scene_frames(item.video, self.config.frames, size=size)
        return square_frames(frames, size)

    def _features(self, features_dir: Path):
        encoders = [ImageEncoderConfig(model=name, pretrained=self.model_config().pretrained)
                    for name in self.config.fusion.encoders]
        return lambda item: load_scene_features(features_dir, item.video.stem, encoders, self.config.frames)

    def collate(self, items: list[tuple[Rows, int]]) -> SceneBatch:
        rows = [r for r, _ in items]
        counts = torch.tensor([row_count(r) for r in rows])
        if isinstance(rows[0], dict):
            inputs = {name: torch.from_numpy(np.concatenate([r[name] for r in rows])).float() for name in rows[0]}
        elif isinstance(rows[0], np.ndarray):  # uint8 frames
            inputs = frames_to_tensor(np.concatenate(rows))
        else:  # waveform segments
            inputs = torch.cat(rows)
        return SceneBatch(inputs, torch.tensor([label for _, label in items]),
                          torch.repeat_interleave(torch.arange(len(items)), counts))

    def compute_losses(self, model: torch.nn.Module, batch: SceneBatch) -> dict[str, torch.Tensor]:
        logits = model(batch.inputs)
        return {"loss": focal_loss(logits, batch.labels[batch.clip_index], self.config.focal_gamma)}

    def evaluate(self, model: torch.nn.Module, batches: Iterable[SceneBatch]) -> dict[str, float]:
        """Per clip: the mean of its rows' softmax (section 2.4), scored by log-loss and accuracy."""
        probs, labels, loss, rows = [], [], 0.0, 0
        for batch in batches:
            logits = model(batch.inputs).float()
            loss += float(focal_loss(logits, batch.labels[batch.clip_index], self.config.focal_gamma)) * len(logits)
            rows += len(logits)
            probs.append(segment_average(logits, batch.clip_index, len(batch.labels)).cpu())
            labels.append(batch.labels.cpu())
        p, y = torch.cat(probs).numpy(), torch.cat(labels).numpy()
        return {"loss": loss / max(rows, 1), "log_loss": log_loss(p, y), "accuracy": accuracy(p, y)}

    def export_meta(self) -> dict[str, Any]:
        return {"classes": list(self.config.classes), "model": self.config.model, "fold": self.config.fold,
                "note": "audio-visual scene classification (Okazaki et al., DCASE2021 task 1B)"}
