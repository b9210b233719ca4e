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
from mmdemo.names import checkpoint_label, without_dirs
from mmdemo.pipelines.locate_answer import Progress
from mmdemo.speech.transcriber import Transcriber

if TYPE_CHECKING:  # imported when first needed: they pull in torch
    from mmdemo.models.captioner import Captioner
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
    epochs: list[int]
    tasks: list[str]
    weights: list[list[float]]  # per epoch, per task: d(MELTR output) / d(task loss), batch-averaged
    curves: dict[str, Any] = field(default_factory=dict)  # "grid", per task "output" and "weight" (Figure 3)
    combiner: str = "meltr"  # how the export combined its losses: meltr | mtl | primary

    def to_json(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "tasks": self.tasks,
                "weights": [[round(w, 5) for w in row] for row in self.weights], "combiner": self.combiner}


class VideoCaptioner:
    """Load cheaply with ``load``; the captioner and the image encoder are built on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._model: Captioner | None = None
        self._encoder: ImageEncoder | None = None
        self._load_lock = threading.Lock()
        self._model_lock = threading.Lock()  # HF tokenizers are not thread-safe
        self.transcriber = Transcriber.from_settings(settings)  # fills an empty V+T transcript from speech

    @classmethod
    def load(cls, settings: Settings) -> VideoCaptioner:
        return cls(settings)

    @property
    def checkpoint_path(self) -> Path:
        return self.settings.checkpoint_root / CHECKPOINT_DIR

    def available(self) -> bool:
        return self.checkpoint_path.is_dir()

    def meta(self) -> dict[str, Any]:
        path = self.checkpoint_path / "meta.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def describe(self) -> dict[str, str]:
        """What answers, by name (no server paths)."""
        meta = self.meta()
        return {"checkpoint": checkpoint_label(self.checkpoint_path),
                "combiner": str(meta.get("meltr", {}).get("combiner", "meltr")),
                "data": without_dirs(str(meta.get("data", "unknown data")))}

    def models(self) -> tuple[Captioner, ImageEncoder, float]:
        """(captioner, the image encoder its features came from, frames per second)."""
        with self._load_lock:
            if self._model is None:
                if not self.available():
                    raise InputError(f"No captioning model is installed (expected an export at {self.checkpoint_path}).")
                from mmdemo.models.encoders import ImageEncoder, ImageEncoderConfig
                from mmdemo.models.factory import CAPTIONER, load_model

                features = self.meta().get("features", {})
                config = ImageEncoderConfig(model=features.get("model", ImageEncoderConfig.model),
                                            pretrained=features.get("pretrained", ""),
                                            seed=int(features.get("seed", ImageEncoderConfig.seed)))
                self._encoder = ImageEncoder.from_config(config).to(self.settings.device)
                self._model = load_model(self.checkpoint_path, CAPTIONER).to(self.settings.device)
            fps = float(self.meta().get("features", {}).get("fps", DEFAULT_FPS))
            return self._model, self._encoder, fps

    def run(self, video: str | Path | None, transcript: str | None = None, beam_size: int = 1,
            progress: Progress | None = None, speech: bool = True) -> CaptionResult:
        """Caption one clip; InputError (with a message for a person) on bad input.

        ``speech``: with no ``transcript``, recognise one from the clip's audio (V mode when there is no speech).
        """
        from mmdemo.media.video import probe, read_frames

        report = progress or (lambda fraction, desc=None: None)
        if not video:
            raise InputError("Please upload a video clip (or pick an example) to caption.")
        path = Path(video)
        limits = self.settings.limits
        if not path.is_file():
            raise InputError(f"File not found: '{path.name}'. Upload the clip again.")
        if path.stat().st_size / 1e6 > limits.max_upload_mb:
            raise InputError(f"The file is larger than the upload limit of {limits.max_upload_mb:,.0f} MB.")
        info = probe(path)  # InputError for anything that is not media
        if not info.has_video:
            raise InputError(f"'{path.name}' has no video stream; the captioner describes what it sees.")
        if info.duration > limits.max_caption_seconds:
            raise InputError(f"This clip is {info.duration:.0f} s long; captioning takes clips of up to "
                             f"{limits.max_caption_seconds:g} s. Trim it and upload again.")
        text = " ".join((transcript or "").split())
        max_chars = limits.max_question_chars * 4
        if len(text) > max_chars:
            raise InputError(f"The transcript is too long; please keep it under {max_chars:,} characters.")
        source, language = ("typed" if text else None), None
        if not text and speech and info.has_audio:
            report(0.02, desc="Recognising speech")
            try:
                heard = self.transcriber.transcribe(path, info=info, progress=lambda share: report(
                    0.02 + 0.08 * share, desc=f"Recognising speech ({share:.0%} of the audio)"))
            except InputError:  # no speech in it: caption from the video alone
                heard = None
            if heard is not None:
                text = " ".join(c.text for c in heard.captions)[:max_chars]
                source, language = "speech", heard.language
        beam_size = max(1, min(int(beam_size), MAX_BEAM))
        report(0.1, desc="Loading the captioner")
        model, encoder, fps = self.models()
        report(0.4, desc="Embedding the frames")
        frames, _ = read_frames(path, fps=fps, size=encoder.image_size, max_frames=model.config.max_frames, info=info)
        if not len(frames):
            raise InputError(f"No frames could be read from '{path.name}'.")
        features = encoder.encode(frames)
        report(0.7, desc="Writing the caption")
        import torch

        with self._model_lock, torch.inference_mode():
            beams = model.caption([features], transcripts=[text] if text else None, beam_size=beam_size)[0]
        report(1.0, desc="Done")
        return CaptionResult(caption=beams[0][0], beams=[{"caption": c, "score": float(s)} for c, s in beams],
                             mode="V+T" if text else "V", frames=len(frames), seconds=float(info.duration),
                             transcript=text, transcript_source=source, language=language)

    def meltr_weights(self) -> MeltrRecord:
        """The export's MELTR record; InputError when there is none to show."""
        if not self.available():
            raise InputError(f"No captioning model is installed (expected an export at {self.checkpoint_path}).")
        record = self.meta().get("meltr")
        if not record or not record.get("epochs"):
            raise InputError("This captioner's export has no MELTR record (it was trained without one).")
        return MeltrRecord(epochs=list(record["epochs"]), tasks=list(record["tasks"]), weights=record["weights"],
                           curves=record.get("curves", {}), combiner=record.get("combiner", "meltr"))
