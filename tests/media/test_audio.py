from __future__ import annotations

import numpy as np
import pytest

from mmdemo.errors import InputError
from mmdemo.media.audio import load_audio

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


def test_load_audio_from_an_offset_reads_the_rest_window_by_window(mp4):
    whole = load_audio(mp4, sample_rate=16000)
    windows = [load_audio(mp4, sample_rate=16000, max_seconds=1.0, offset=t) for t in (0.0, 1.0, 2.0, 3.0)]
    assert [len(w) for w in windows[:2]] == [16000, 16000] and len(windows[3]) < 800
    joined = np.concatenate(windows)
    assert abs(len(joined) - len(whole)) < 800  # AAC priming and padding
    assert np.abs(windows[1][:8000] - whole[16000:24000]).max() < 0.02  # the same samples, not a shifted copy


def write_mono_wav(path, samples: np.ndarray, rate: int = 16000):
    """A plain mono 16-bit PCM WAV of ``samples`` (int16), the kind load_audio reads without ffmpeg."""
    import wave as wavefile

    with wavefile.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.astype("<i2").tobytes())
    return path


def test_plain_wav_from_an_offset(tmp_path):
    samples = np.arange(16000, dtype="<i2")
    path = write_mono_wav(tmp_path / "ramp.wav", samples)
    part = load_audio(path, sample_rate=16000, max_seconds=0.25, offset=0.5)
    assert np.array_equal(part * 32768, samples[8000:12000].astype(np.float32))
    assert len(load_audio(path, sample_rate=16000, offset=2.0)) == 0


def test_load_audio_is_writable(wav):
    wave = load_audio(wav)
    wave[0] = 0.5  # callers may normalise in place


def test_load_audio_without_audio_track(silent_mp4):
    with pytest.raises(InputError, match="has no audio track"):
        load_audio(silent_mp4)


def test_load_audio_rejects_non_media(text_as_mp4):
    with pytest.raises(InputError, match="not a video or audio file"):
        load_audio(text_as_mp4)


def test_plain_wav_is_read_without_ffmpeg_and_matches_it(tmp_path, monkeypatch):
    from mmdemo.media import audio
    from mmdemo.media.video import probe

    samples = (np.sin(np.arange(8000) / 7.0) * 20000).astype("<i2")
    path = write_mono_wav(tmp_path / "tone.wav", samples)
    decoded_by_ffmpeg = load_audio(path, sample_rate=16000, info=probe(path))

    def no_ffmpeg(*args, **kwargs):
        raise AssertionError("ffmpeg was started for a plain WAV")

    monkeypatch.setattr(audio, "run_ffmpeg", no_ffmpeg)
    monkeypatch.setattr(audio, "probe", no_ffmpeg)
    direct = load_audio(path, sample_rate=16000)
    np.testing.assert_array_equal(direct, decoded_by_ffmpeg)
    assert len(load_audio(path, sample_rate=16000, max_seconds=0.25)) == 4000
