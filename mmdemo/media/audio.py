"""Audio tracks as float waveforms (decoded by ffmpeg) and log-mel spectrograms (torchaudio).

Decoding pipes ffmpeg straight to 32-bit float PCM: one resampling path for every container
and codec, and no moviepy (its ``to_soundarray`` breaks on short clips).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from mmdemo.errors import InputError
from mmdemo.media.ffmpeg import input_args, run_ffmpeg
from mmdemo.media.video import MediaInfo, probe


def load_audio(
    path: str | Path, sample_rate: int = 16000, max_seconds: float | None = None, info: MediaInfo | None = None
) -> np.ndarray:
    """First audio track as a mono float32 waveform in [-1, 1] at ``sample_rate``.

    ``max_seconds`` decodes only the beginning, which bounds time and memory on long uploads.
    ``info``: the file's ``probe``, when the caller already has it (saves one ffmpeg run).
    """
    if info is None:
        plain = _read_plain_wav(Path(path), sample_rate, max_seconds)
        if plain is not None:
            return plain
    info = info or probe(path)
    if not info.has_audio:
        raise InputError(f"This video has no audio track ('{info.path.name}').")
    args = [*input_args(info.path), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(int(sample_rate))]
    if max_seconds is not None:
        args += ["-t", f"{max_seconds:.3f}"]
    raw = run_ffmpeg([*args, "-f", "f32le", "-loglevel", "error", "-"])
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def _read_plain_wav(path: Path, sample_rate: int, max_seconds: float | None) -> np.ndarray | None:
    """A mono 16-bit PCM WAV already at ``sample_rate``, read without starting ffmpeg; None otherwise.

    Training reads thousands of such clips per epoch, where two ffmpeg processes per file would
    cost more than the model. The samples equal ffmpeg's decoding (int16 / 32768).
    """
    if path.suffix.lower() != ".wav":
        return None
    try:
        with wave.open(str(path), "rb") as handle:
            if (handle.getnchannels(), handle.getsampwidth(), handle.getframerate()) != (1, 2, sample_rate):
                return None
            frames = handle.getnframes()
            if max_seconds is not None:
                frames = min(frames, round(max_seconds * sample_rate))
            data = handle.readframes(frames)
    except (wave.Error, EOFError, OSError):
        return None  # not a plain WAV: let ffmpeg decode it, or say what is wrong with it
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def log_mel(
    waveform,
    sample_rate: int = 16000,
    n_mels: int = 64,
    n_fft: int = 400,
    hop: int = 160,
):
    """Natural-log mel spectrogram, shape (..., n_mels, frames), of a (..., samples) waveform.

    Defaults are 25 ms windows every 10 ms at 16 kHz. ``waveform`` may be a numpy array or a
    tensor; the result is a float32 torch.Tensor on the waveform's device.
    """
    import torch
    import torchaudio

    x = torch.as_tensor(waveform, dtype=torch.float32)
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=sample_rate, n_fft=n_fft, hop_length=hop, n_mels=n_mels, power=2.0
    ).to(x.device)
    return torch.log(mel(x) + 1e-6)
