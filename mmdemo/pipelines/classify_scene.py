"""Which scene is this clip? The audio, frame and CLIP late-fusion models, then their ensemble.

A checkpoint set is a folder (``<checkpoint root>/scene/`` for the app) holding ``audio/``,
``frames/`` and ``fusion/``, exports of ``python -m training scene`` (each optional), and
``ensemble.json``: the ``EnsembleConfig`` with its class-wise selection table, fitted on the
val split by ``python -m training.fit_scene_ensemble``. Without that file every rule of
section 2.4 runs, with no selection table (every model for every class).

A clip is decoded once: its sound at 48 kHz, cut into 1 s segments (section 2.1), and its
section 2.2 frames (12 per 10 s). Each model answers with the mean over its segments or frames
(section 2.4) and the ensemble fuses the answers, saying which rule decided. A model whose
modality is missing abstains (a video without sound, an audio-only file) and the result says so.

One ``SceneClassifier`` serves every user: it holds only read-only models, and all that belongs
to a request is in its ``SceneResult``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdemo.errors import InputError
from mmdemo.media.video import validate_upload
from mmdemo.pipelines.base import ModelCard, Pipeline, Progress, reporter

if TYPE_CHECKING:  # imported when first needed: they pull in torch
    from mmdemo.media.video import MediaInfo
    from mmdemo.models.encoders import ImageEncoder
    from mmdemo.models.scene import SceneModel
    from mmdemo.models.scene_ensemble import EnsembleConfig

CHECKPOINT_DIR = "scene"  # the checkpoint set under the checkpoint root
ENSEMBLE_FILE = "ensemble.json"
MODEL_NAMES = ("audio", "frames", "fusion")  # sub-folders of a checkpoint set, in ensemble order
BATCH = 32  # segments or frames per forward pass
# Ours: a track whose RMS level is under this carries no scene. The models were never shown
# silence, and one trained on city sounds answered a silent clip "street_traffic" at 0.991.
SILENCE_DBFS = -60.0


@dataclass
class ClipPrediction:
    """Every model's clip-level probabilities, or why it abstained, and what the models saw."""

    probs: dict[str, np.ndarray]  # model -> (C,)
    abstained: dict[str, str]  # model -> reason, for people
    frames: np.ndarray  # (F, H, W, 3) uint8 frames the video models saw; F = 0 without video
    frame_times: np.ndarray  # (F,) seconds
    timings: dict[str, float]  # seconds: "decode", "features", one per model


@dataclass
class SceneResult:
    label: str
    probabilities: dict[str, float]  # class -> the ensemble's final confidence
    per_model: dict[str, dict[str, float]]  # model -> class -> confidence
    rule: str  # which ensemble rule decided, for people
    abstained: dict[str, str] = field(default_factory=dict)  # model -> why it gave no answer
    frames: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1, 3), np.uint8))  # for a gallery
    frame_times: list[float] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # decode, features, each model, ensemble

    def to_json(self) -> dict[str, Any]:
        """The API answer: plain JSON types only."""
        return {"label": self.label, "probabilities": _rounded(self.probabilities),
                "per_model": {model: _rounded(probs) for model, probs in self.per_model.items()},
                "rule": self.rule, "abstained": dict(self.abstained)}


def loudness_dbfs(waveform: np.ndarray) -> float:
    """RMS level in dB relative to full scale (-inf for digital silence)."""
    rms = float(np.sqrt(np.mean(np.square(waveform, dtype=np.float64)))) if len(waveform) else 0.0
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


def _rounded(probs: dict[str, float]) -> dict[str, float]:
    return {name: round(float(p), 4) for name, p in probs.items()}


class SceneClassifier(Pipeline):
    """Load cheaply with ``load`` (or ``from_dir``); the models are built on first use."""

    checkpoint_dir = CHECKPOINT_DIR
    missing = f"No scene classification model is installed ({', '.join(MODEL_NAMES)} exports)"

    def installed(self) -> list[str]:
        return [name for name in MODEL_NAMES if (self.root / name).is_dir()]

    def available(self) -> bool:
        return bool(self.installed())

    def describe(self) -> dict[str, Any]:
        """The installed models' cards, whether a class-wise selection was fitted, and the device."""
        return {"models": [ModelCard.read(self.root / name) for name in self.installed()],
                "ensemble_fitted": (self.root / ENSEMBLE_FILE).is_file(), "device": self.settings.device}

    # ---------------------------------------------------------------- lazily built parts

    def models(self) -> dict[str, SceneModel]:
        """The installed models by name, all on the settings' device and sharing one class list."""
        self.require()
        return self.part("models", self._load_models)

    def encoders(self) -> dict[str, ImageEncoder]:
        """The image encoders whose features the fusion network reads (none without fusion)."""
        return self.part("encoders", lambda: self._load_encoders(self.models()))

    def _load_models(self) -> dict[str, SceneModel]:
        from mmdemo.checkpoint import CheckpointError
        from mmdemo.models.factory import SCENE_FAMILIES, load_model

        models = {}
        for name in self.installed():
            loaded = load_model(self.root / name, tuple(SCENE_FAMILIES.values()))
            if loaded.name != name:
                raise CheckpointError(f"{self.root / name} holds a '{loaded.name}' model, not a '{name}' one.")
            loaded.model.to(self.settings.device)
            models[name] = loaded
        classes = {loaded.classes for loaded in models.values()}
        if len(classes) > 1:
            raise CheckpointError(f"The scene models under {self.root} were trained on different class lists.")
        return models

    def _load_encoders(self, models: dict[str, SceneModel]) -> dict[str, ImageEncoder]:
        from mmdemo.models.encoders import ImageEncoder, ImageEncoderConfig

        if "fusion" not in models:
            return {}
        fusion = models["fusion"].model.config
        return {encoder: ImageEncoder.from_config(ImageEncoderConfig(model=encoder, pretrained=fusion.pretrained))
                .to(self.settings.device) for encoder in fusion.encoders}

    def warm_up(self) -> None:
        self.encoders()  # loads the models first
        self.ensemble_config()

    @property
    def classes(self) -> tuple[str, ...]:
        return next(iter(self.models().values())).classes

    def ensemble_config(self) -> EnsembleConfig:
        """``ensemble.json``'s config, or every rule on without a selection table when there is none."""
        return self.part("ensemble", self._read_ensemble)

    def _read_ensemble(self) -> EnsembleConfig:
        from mmdemo.checkpoint import CheckpointError, config_from_dict
        from mmdemo.models.scene_ensemble import EnsembleConfig

        path = self.root / ENSEMBLE_FILE
        if not path.is_file():
            return EnsembleConfig()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CheckpointError(f"{path} is not readable JSON ({error}).") from None
        return config_from_dict(EnsembleConfig, data.get("config", {}))

    # ---------------------------------------------------------------- the request

    def run(self, path: str | Path | None, progress: Progress | None = None) -> SceneResult:
        """Classify one uploaded clip; InputError (with a message for a person) on bad input."""
        from mmdemo.models.scene_ensemble import run_ensemble

        report = reporter(progress)
        report(0.0, desc="Reading your clip")
        limits = self.settings.limits
        info = validate_upload(path, limits, verb="classify", needs_video=False,
                               max_seconds=limits.max_scene_seconds, task="scene classification")
        report(0.1, desc="Loading the scene models")
        self.models()
        report(0.3, desc="Decoding, then running the models")
        clip = self.predict_clip(info.path, info.path, info=info)
        if not clip.probs:
            reasons = "; ".join(f"{model}: {why}" for model, why in clip.abstained.items())
            raise InputError(f"None of the installed scene models can classify '{info.path.name}' ({reasons}).")
        report(0.9, desc="Fusing the models' answers")
        started = time.perf_counter()
        classes = self.classes
        fused = run_ensemble({name: p[None] for name, p in clip.probs.items()}, classes, self.ensemble_config())
        timings = {**clip.timings, "ensemble": time.perf_counter() - started}
        report(1.0, desc="Done")
        return SceneResult(
            label=classes[int(fused.labels[0])],
            probabilities=dict(zip(classes, fused.final[0].tolist())),
            per_model={name: dict(zip(classes, p.tolist())) for name, p in clip.probs.items()},
            rule=fused.rules[0],
            abstained=clip.abstained,
            frames=clip.frames,
            frame_times=clip.frame_times.tolist(),
            timings=timings,
        )

    def predict_clip(
        self, audio_path: Path, video_path: Path, features: dict[str, np.ndarray] | None = None,
        info: MediaInfo | None = None,
    ) -> ClipPrediction:
        """Each installed model's clip probabilities: sound from ``audio_path``, frames from
        ``video_path`` (one file may be both; ``info`` is its probe). ``features``: the fusion
        network's CLIP features, when cached (``frame_features.load_scene_features``)."""
        from mmdemo.media.video import probe

        models = self.models()
        timings: dict[str, float] = {}
        abstained: dict[str, str] = {}
        started = time.perf_counter()
        segments = None
        if "audio" in models:
            audio_info = info if info is not None and info.path == audio_path else None
            segments, why = self._segments(audio_path, models["audio"].model.config, audio_info)
            if why:
                abstained["audio"] = why
        frames, frame_times = np.zeros((0, 1, 1, 3), np.uint8), np.zeros(0)
        if "frames" in models or ("fusion" in models and features is None):
            video_info = info if info is not None and info.path == video_path else probe(video_path)
            if video_info.has_video:
                frames, frame_times = self._frames(video_info)
            else:
                abstained.update({name: "the file has no video stream" for name in ("frames", "fusion") if name in models})
        timings["decode"] = time.perf_counter() - started

        probs: dict[str, np.ndarray] = {}
        if segments is not None:
            probs["audio"] = self._average(models["audio"].model, segments, timings, "audio")
        if "frames" in models and len(frames):
            from mmdemo.models.scene import frames_to_tensor

            probs["frames"] = self._average(models["frames"].model, frames_to_tensor(frames), timings, "frames")
        if "fusion" in models and (features is not None or len(frames)):
            started = time.perf_counter()
            features = features if features is not None else {name: e.encode(frames) for name, e in self.encoders().items()}
            timings["features"] = time.perf_counter() - started
            probs["fusion"] = self._average_features(models["fusion"].model, features, timings)
        return ClipPrediction(probs, abstained, frames, frame_times, timings)

    def _segments(self, path: Path, config, info: MediaInfo | None):
        """(1 s segments, None), or (None, why the audio model abstains)."""
        from mmdemo.media.audio import load_audio
        from mmdemo.models.scene import split_segments

        if info is not None and not info.has_audio:
            return None, "the clip has no audio track"
        try:  # without a probe, a plain 48 kHz WAV is read directly (evaluation reads hundreds)
            waveform = load_audio(path, config.sample_rate, max_seconds=self.settings.limits.max_scene_seconds, info=info)
        except InputError as error:
            return None, f"its audio could not be read ({error})"
        if not len(waveform):
            return None, "its audio track is empty"
        level = loudness_dbfs(waveform)
        if level < SILENCE_DBFS:
            return None, f"the audio is silent ({level:.0f} dBFS): there is no sound to tell a scene by"
        return split_segments(waveform, config), None

    def _frames(self, info: MediaInfo) -> tuple[np.ndarray, np.ndarray]:
        """The section 2.2 frames, decoded at the largest size any installed video model needs."""
        from mmdemo.frame_features import SCENE_FRAMES, read_scene_frames

        models = self.models()
        config = models["frames"].model.config if "frames" in models else SCENE_FRAMES
        sizes = [config.image_size] if "frames" in models else []
        size = max(sizes + [encoder.image_size for encoder in self.encoders().values()])
        if info.width and info.height:
            size = min(size, info.width, info.height)  # 4K comes down to it; small videos stay as they are
        return read_scene_frames(info.path, config, size=size, info=info)

    def _average(self, model, inputs, timings: dict[str, float], name: str) -> np.ndarray:
        """Section 2.4: the mean softmax over a clip's segments or frames, in batches."""
        import torch

        from mmdemo.models.scene import segment_average

        started = time.perf_counter()
        device = self.settings.device
        with torch.inference_mode():
            logits = torch.cat([model(inputs[i : i + BATCH].to(device)).float().cpu() for i in range(0, len(inputs), BATCH)])
        timings[name] = time.perf_counter() - started
        return segment_average(logits)[0].numpy()

    def _average_features(self, model, features: dict[str, np.ndarray], timings: dict[str, float]) -> np.ndarray:
        import torch

        from mmdemo.models.scene import segment_average

        started = time.perf_counter()
        with torch.inference_mode():
            inputs = {name: torch.from_numpy(np.asarray(f, dtype=np.float32)).to(self.settings.device) for name, f in features.items()}
            logits = model(inputs).float().cpu()
        timings["fusion"] = time.perf_counter() - started
        return segment_average(logits)[0].numpy()

    # ---------------------------------------------------------------- a whole split (evaluation)

    def predict_split(self, items, features_dir: Path | None = None, progress=None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """({model: (N, C) clip probabilities}, (N,) true class indices) over TAU-layout items
        (``mmdemo.data.tau.SceneItem``); fusion reads cached CLIP features from ``features_dir`` when
        they are there. Every model must answer every clip."""
        from mmdemo.frame_features import SCENE_FRAMES, load_scene_features
        from mmdemo.models.encoders import ImageEncoderConfig

        models = self.models()
        cached = "fusion" in models and features_dir is not None
        if cached:
            fusion = models["fusion"].model.config
            encoders = [ImageEncoderConfig(model=name, pretrained=fusion.pretrained) for name in fusion.encoders]
            sampling = models["frames"].model.config if "frames" in models else SCENE_FRAMES
        probs: dict[str, list[np.ndarray]] = {name: [] for name in models}
        for done, item in enumerate(items):
            features = None
            if cached:
                try:
                    features = load_scene_features(features_dir, item.video.stem, encoders, sampling)
                except FileNotFoundError:
                    features = None  # not cached: the encoders embed the frames
            clip = self.predict_clip(item.audio, item.video, features)
            if clip.abstained:
                raise InputError(f"{item.clip_id}: " + "; ".join(f"{m}: {why}" for m, why in clip.abstained.items()))
            for name, p in clip.probs.items():
                probs[name].append(p)
            if progress is not None:
                progress(done + 1, len(items))
        labels = np.array([item.label_index for item in items])
        return {name: np.stack(rows) for name, rows in probs.items()}, labels
