"""The trained audio-text dual encoder as a search service: files and texts in, unit vectors out.

Used by audio search (``mmdemo.pipelines.search_audio``), the indexer (``python -m mmdemo.index
audio``) and the audio retrieval evaluation. The model (``mmdemo.models.audio_text``) does no
I/O; this service decodes and checks recordings, segments them as the model was trained
(section 2.5) and averages the segments' embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from mmdemo.digest import file_sha256
from mmdemo.errors import InputError
from mmdemo.models.audio_text import DualEncoder, segment_waveform


@dataclass(frozen=True)
class AudioChecks:
    min_seconds: float = 0.25  # shorter clips carry too little for the front end to describe
    silence_peak: float = 1e-4  # a peak amplitude below this (-80 dBFS) is silence
    max_seconds: float = 600.0  # longer recordings are embedded from their first ten minutes


class AudioTextRetriever:
    """A trained dual encoder for search: files and texts in, unit vectors out (numpy)."""

    def __init__(self, model: DualEncoder, checks: AudioChecks = AudioChecks(), source: str = "",
                 weights_sha256: str = "") -> None:
        self.model = model.eval()
        self.checks = checks
        self.source = source
        self.weights_sha256 = weights_sha256  # tells an index made by these weights from a stale one

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> AudioTextRetriever:
        from mmdemo.checkpoint import WEIGHTS_FILE
        from mmdemo.models.factory import AUDIO_TEXT, load_model

        model = load_model(path, AUDIO_TEXT)  # refuses a folder that is not an export (pickles included) first
        digest = file_sha256(Path(path) / WEIGHTS_FILE)
        return cls(model.to(device), source=str(path), weights_sha256=digest)

    @property
    def dim(self) -> int:
        return self.model.config.embed_dim

    @property
    def sample_rate(self) -> int:
        return self.model.config.front_end.sample_rate

    def describe(self) -> dict:
        config = self.model.config
        return {"checkpoint": self.source, "weights_sha256": self.weights_sha256, "audio_tower": config.audio.kind,
                "text_encoder": config.text.name, "embed_dim": config.embed_dim,
                "segment_seconds": config.audio.segment_seconds}

    def check_waveform(self, waveform: np.ndarray, name: str) -> None:
        """Refuse what cannot be described: near-empty or silent audio."""
        seconds = len(waveform) / self.sample_rate
        if seconds < self.checks.min_seconds:
            raise InputError(f"'{name}' is {seconds:.2f} s long; audio search needs at least {self.checks.min_seconds:g} s.")
        if not np.isfinite(waveform).all() or float(np.abs(waveform).max()) < self.checks.silence_peak:
            raise InputError(f"'{name}' is silent; there is nothing to search for.")

    def load_waveform(self, path: str | Path) -> np.ndarray:
        """Decode any audio (or video) file to mono at the model's rate, checked and bounded."""
        from mmdemo.media.audio import load_audio

        path = Path(path)
        waveform = load_audio(path, sample_rate=self.sample_rate, max_seconds=self.checks.max_seconds)
        self.check_waveform(waveform, path.name)
        return waveform

    @torch.inference_mode()
    def embed_waveform(self, waveform: np.ndarray) -> np.ndarray:
        """(embed_dim,) unit vector: the normalised mean of the segments' embeddings."""
        pieces = torch.from_numpy(segment_waveform(np.asarray(waveform, dtype=np.float32), self.model.segment_samples))
        vectors = self.model.embed_audio(pieces.to(self.model.device)).float().mean(dim=0)
        return F.normalize(vectors, dim=0).cpu().numpy()

    def embed_audio_file(self, path: str | Path) -> np.ndarray:
        return self.embed_waveform(self.load_waveform(path))

    @torch.inference_mode()
    def spectrogram(self, path: str | Path) -> dict:
        """The mel spectrogram the model hears: ``{"power": (mels, frames) float32 array, "seconds"}``."""
        waveform = torch.from_numpy(self.load_waveform(path)).to(self.model.device)
        power = self.model.front_end.mel(waveform[None].float())[0]
        return {"power": power.cpu().numpy(), "seconds": len(waveform) / self.sample_rate}

    @torch.inference_mode()
    def embed_texts(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(N, embed_dim) unit vectors of captions or queries."""
        out = [np.zeros((0, self.dim), dtype=np.float32)]
        for start in range(0, len(texts), batch_size):
            batch = {k: v.to(self.model.device) for k, v in self.model.tokenize(texts[start : start + batch_size]).items()}
            out.append(self.model.embed_text(**batch).float().cpu().numpy())
        return np.concatenate(out)
