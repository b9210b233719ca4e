from __future__ import annotations

import numpy as np
import pytest

from mmdemo.errors import InputError
from mmdemo.media.audio import load_audio, log_mel

SINE_RMS = 0.125 / np.sqrt(2)  # lavfi sine: amplitude 1/8


@pytest.mark.parametrize(
    "fixture, seconds", [("mp4", 3.0), ("webm", 3.0), ("mov", 3.0), ("m4a", 2.0), ("wav", 2.0)]
)
def test_load_audio_length_rate_and_level(request, fixture, seconds):
    wave = load_audio(request.getfixturevalue(fixture), sample_rate=16000)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert abs(len(wave) - seconds * 16000) <= 0.03 * 16000  # codec priming/padding
    rms = float(np.sqrt(np.mean(wave[1600:-1600] ** 2)))
    assert rms == pytest.approx(SINE_RMS, rel=0.05)


def test_load_audio_resamples_to_requested_rate(wav):
    assert len(load_audio(wav, sample_rate=8000)) == 16000  # 2 s
    assert len(load_audio(wav, sample_rate=32000)) == 64000


def test_load_audio_max_seconds_bounds_work(mp4):
    assert len(load_audio(mp4, sample_rate=16000, max_seconds=1.0)) == 16000


def test_load_audio_is_writable(wav):
    wave = load_audio(wav)
    wave[0] = 0.5  # callers may normalise in place


def test_load_audio_without_audio_track(silent_mp4):
    with pytest.raises(InputError, match="has no audio track"):
        load_audio(silent_mp4)


def test_load_audio_rejects_non_media(text_as_mp4):
    with pytest.raises(InputError, match="not a video or audio file"):
        load_audio(text_as_mp4)


@pytest.mark.slow  # importing torch
def test_log_mel_shape_and_peak_band():
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchaudio")
    sr = 16000
    t = np.arange(sr, dtype=np.float32) / sr
    mel = log_mel(0.1 * np.sin(2 * np.pi * 1000 * t), sample_rate=sr, n_mels=64, n_fft=400, hop=160)
    assert isinstance(mel, torch.Tensor) and mel.dtype == torch.float32
    assert mel.shape == (64, sr // 160 + 1)  # centred frames
    band_energy = mel.mean(dim=1)
    # 1 kHz sits in the lower third of a 0..8 kHz mel scale (mel(1000) / mel(8000) ~ 0.35).
    assert 15 <= int(band_energy.argmax()) <= 27
    batch = log_mel(torch.zeros(2, sr), sample_rate=sr)
    assert batch.shape == (2, 64, 101)
    assert torch.isfinite(batch).all()


def test_plain_wav_is_read_without_ffmpeg_and_matches_it(tmp_path, monkeypatch):
    import wave as wavefile

    from mmdemo.media import audio
    from mmdemo.media.video import probe

    samples = (np.sin(np.arange(8000) / 7.0) * 20000).astype("<i2")
    path = tmp_path / "tone.wav"
    with wavefile.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(samples.tobytes())
    decoded_by_ffmpeg = load_audio(path, sample_rate=16000, info=probe(path))

    def no_ffmpeg(*args, **kwargs):
        raise AssertionError("ffmpeg was started for a plain WAV")

    monkeypatch.setattr(audio, "run_ffmpeg", no_ffmpeg)
    monkeypatch.setattr(audio, "probe", no_ffmpeg)
    direct = load_audio(path, sample_rate=16000)
    np.testing.assert_array_equal(direct, decoded_by_ffmpeg)
    assert len(load_audio(path, sample_rate=16000, max_seconds=0.25)) == 4000
