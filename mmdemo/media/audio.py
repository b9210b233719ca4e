"""Audio tracks as float waveforms, decoded by ffmpeg (spectrograms: ``mmdemo.media.spectrogram``).

Decoding pipes ffmpeg straight to 32-bit float PCM: one resampling path for every container
and codec, and no moviepy (its ``to_soundarray`` breaks on short clips).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from mmdemo.errors import InputError
from mmdemo.media.ffmpeg import input_args, run_ffmpeg
from mmdemo.media.video import MediaInfo, check_decoded_length, output_bound, probe


def load_audio(
    path: str | Path, sample_rate: int = 16000, max_seconds: float | None = None, info: MediaInfo | None = None,
    offset: float = 0.0,
) -> np.ndarray:
    """First audio track as a mono float32 waveform in [-1, 1] at ``sample_rate``.

    ``max_seconds`` decodes only that much, from ``offset`` seconds on: reading a long upload
    window by window bounds time and memory.
    ``info``: the file's ``probe``, when the caller already has it (saves one ffmpeg run).
    """
    if info is None:
        plain = _read_plain_wav(Path(path), sample_rate, max_seconds, offset)
        if plain is not None:
            return plain
    info = info or probe(path)
    if not info.has_audio:
        raise InputError(f"This video has no audio track ('{info.path.name}').")
    offset = max(0.0, offset)
    seek = ["-ss", f"{offset:.3f}"] if offset else []  # before -i: seek, then decode exactly from there
    args = [*seek, *input_args(info.path), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(int(sample_rate))]
    if max_seconds is not None:
        args += ["-t", f"{max_seconds:.3f}"]
    left = max(0.0, info.duration - offset)
    expected = left if max_seconds is None else min(left, max_seconds)
    raw = run_ffmpeg([*args, "-f", "f32le", "-loglevel", "error", "-"],
                     max_output=output_bound(expected or max_seconds, sample_rate * 4))
    samples = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    check_decoded_length(info, samples.size / sample_rate, expected, "audio")
    return samples


def _read_plain_wav(path: Path, sample_rate: int, max_seconds: float | None, offset: float = 0.0) -> np.ndarray | None:
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
            skip = min(handle.getnframes(), round(max(0.0, offset) * sample_rate))
            handle.setpos(skip)
            frames = handle.getnframes() - skip
            if max_seconds is not None:
                frames = min(frames, round(max_seconds * sample_rate))
            data = handle.readframes(frames)
    except (wave.Error, EOFError, OSError):
        return None  # not a plain WAV: let ffmpeg decode it, or say what is wrong with it
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0

