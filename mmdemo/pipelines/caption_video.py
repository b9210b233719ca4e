"""Caption a clip with the trained captioner, and read out how MELTR weighted its losses.

The clip's frames are sampled and embedded exactly as the training features were (the open_clip
settings and the frame rate are recorded in the export's meta.json under ``"features"``), then
the captioner decodes greedily or with beam search, from the video alone (V) or with a
transcript (V+T); a transcript left empty is recognised from the clip's speech, when it has
some (``mmdemo.speech``). The MELTR record (per-epoch loss weights, the loss transformation curves)
is read from the same meta.json; it was written by the trainer.

One ``VideoCaptioner`` serves every user: it holds only read-only models; a request's data is
in its ``CaptionResult``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdemo.config import Settings
from mmdemo.errors import InputError
from mmdemo.media.video import validate_upload
from mmdemo.pipelines.base import ModelCard, Pipeline, Progress, reporter
from mmdemo.speech.transcriber import Transcriber

if TYPE_CHECKING:  # imported when first needed: they pull in torch
    from mmdemo.models.captioner import Captioner
    from mmdemo.media.video import MediaInfo
    from mmdemo.models.encoders import ImageEncoder

CHECKPOINT_DIR = "captioner"  # the captioner export under the checkpoint root
EXAMPLES_DIR = "caption_examples"  # example clips under assets/
MAX_BEAM = 8
DEFAULT_FPS = 8.0  # frames embedded per second when the export does not say (training.data.synthetic_captions)


@dataclass
class CaptionResult:
    caption: str
    beams: list[dict[str, Any]]  # best first: {"caption", "score"} (score = log-prob / length^penalty)
    mode: str  # "V" (video only) or "V+T" (video and transcript)
    frames: int  # frames the captioner saw
    seconds: float  # clip length
    transcript: str = ""  # what the captioner read (V+T)
    transcript_source: str | None = None  # "typed", "speech" (recognised from the clip), None in V mode
    language: str | None = None  # of recognised speech

    def to_json(self) -> dict[str, Any]:
        return {"caption": self.caption, "beams": [{"caption": b["caption"], "score": round(b["score"], 4)} for b in self.beams],
                "mode": self.mode, "transcript": self.transcript, "transcript_source": self.transcript_source,
                "language": self.language}


@dataclass
class MeltrRecord:
    """How MELTR weighted the losses while the export trained; epochs counted from 1, as the plots show."""

    epochs: list[int]
    tasks: list[str]
    weights: list[list[float]]  # per epoch, per task: d(MELTR output) / d(task loss), batch-averaged
    curves: dict[str, Any] = field(default_factory=dict)  # "grid", per task "output" and "weight", "epoch" (Figure 3)
    combiner: str = "meltr"  # how the export combined its losses: meltr | mtl | primary

    def to_json(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "tasks": self.tasks,
                "weights": [[round(w, 5) for w in row] for row in self.weights], "combiner": self.combiner}


class VideoCaptioner(Pipeline):
    """Load cheaply with ``load``; the captioner and the image encoder are built on first use."""

    checkpoint_dir = CHECKPOINT_DIR
    missing = "No captioning model is installed"

    def __init__(self, settings: Settings, root: Path | None = None) -> None:
        super().__init__(settings, root)
        self._model_lock = threading.Lock()  # HF tokenizers are not thread-safe
        self.transcriber = Transcriber.from_settings(settings)  # fills an empty V+T transcript from speech

    def meta(self) -> dict[str, Any]:
        path = self.root / "meta.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def describe(self) -> dict[str, Any]:
        """The captioner's card and how it combined its training losses."""
        card = ModelCard.read(self.root) if self.available() else None
        return {"models": [card] if card else [],
                "combiner": str(self.meta().get("meltr", {}).get("combiner", "meltr")) if card else None}

    def models(self) -> tuple[Captioner, ImageEncoder, float]:
        """(captioner, the image encoder its features came from, frames per second)."""
        self.require()
        model, encoder = self.part("models", self._load_models)
        return model, encoder, float(self.meta().get("features", {}).get("fps", DEFAULT_FPS))

    def warm_up(self) -> None:
        self.models()

    def _load_models(self) -> tuple[Captioner, ImageEncoder]:
        from mmdemo.models.encoders import ImageEncoder, ImageEncoderConfig
        from mmdemo.models.factory import CAPTIONER, load_model

        features = self.meta().get("features", {})
        config = ImageEncoderConfig(model=features.get("model", ImageEncoderConfig.model),
                                    pretrained=features.get("pretrained", ""),
                                    seed=int(features.get("seed", ImageEncoderConfig.seed)))
        return (load_model(self.root, CAPTIONER).to(self.settings.device),
                ImageEncoder.from_config(config).to(self.settings.device))

    def run(self, video: str | Path | None, transcript: str | None = None, beam_size: int = 1,
            progress: Progress | None = None, speech: bool = True) -> CaptionResult:
        """Caption one clip; InputError (with a message for a person) on bad input.

        ``speech``: with no ``transcript``, recognise one from the clip's audio (V mode when there is no speech).
        """
        from mmdemo.media.video import read_frames

        report = reporter(progress)
        limits = self.settings.limits
        info = validate_upload(video, limits, verb="caption", max_seconds=limits.max_caption_seconds,
                               task="captioning")
        text, source, language = self._transcript(info, transcript, speech, report)
        beam_size = max(1, min(int(beam_size), MAX_BEAM))
        report(0.1, desc="Loading the captioner")
        model, encoder, fps = self.models()
        report(0.4, desc="Embedding the frames")
        frames, _ = read_frames(info.path, fps=fps, size=encoder.image_size, max_frames=model.config.max_frames, info=info)
        if not len(frames):
            raise InputError(f"No frames could be read from '{info.path.name}'.")
        features = encoder.encode(frames)
        report(0.7, desc="Writing the caption")
        import torch

        with self._model_lock, torch.inference_mode():
            beams = model.caption([features], transcripts=[text] if text else None, beam_size=beam_size)[0]
        report(1.0, desc="Done")
        return CaptionResult(caption=beams[0][0], beams=[{"caption": c, "score": float(s)} for c, s in beams],
                             mode="V+T" if text else "V", frames=len(frames), seconds=float(info.duration),
                             transcript=text, transcript_source=source, language=language)

    def _transcript(self, info: MediaInfo, typed: str | None, speech: bool,
                    report: Progress) -> tuple[str, str | None, str | None]:
        """(transcript, "typed" | "speech" | None, language): what was typed, else the clip's recognised speech."""
        text = " ".join((typed or "").split())
        max_chars = self.settings.limits.max_question_chars * 4
        if len(text) > max_chars:
            raise InputError(f"The transcript is too long; please keep it under {max_chars:,} characters.")
        if text or not speech or not info.has_audio:
            return text, ("typed" if text else None), None
        report(0.02, desc="Recognising speech")
        try:
            heard = self.transcriber.transcribe(info.path, info=info, progress=lambda share: report(
                0.02 + 0.08 * share, desc=f"Recognising speech ({share:.0%} of the audio)"))
        except InputError:  # no speech in it: caption from the video alone
            return "", None, None
        return " ".join(c.text for c in heard.captions)[:max_chars], "speech", heard.language

    def meltr_weights(self) -> MeltrRecord:
        """The export's MELTR record; InputError when there is none to show."""
        self.require()
        record = self.meta().get("meltr")
        if not record or not record.get("epochs"):
            raise InputError("This captioner's export has no MELTR record (it was trained without one).")
        curves = dict(record.get("curves", {}))
        if "epoch" in curves:
            curves["epoch"] = int(curves["epoch"]) + 1
        return MeltrRecord(epochs=[int(e) + 1 for e in record["epochs"]], tasks=list(record["tasks"]),  # training counts from 0
                           weights=record["weights"], curves=curves, combiner=record.get("combiner", "meltr"))
