"""The plain-torch mel front end against known values and against torchaudio's implementation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmdemo.media.spectrogram import MelSpectrogram, deltas, hz_to_mel, mel_filterbank, mel_to_hz


@pytest.mark.parametrize("scale", ["htk", "slaney"])
def test_mel_scale_round_trips_and_hits_known_points(scale):
    hz = torch.tensor([0.0, 200.0, 1000.0, 4000.0, 16000.0], dtype=torch.float64)
    torch.testing.assert_close(mel_to_hz(hz_to_mel(hz, scale), scale), hz)
    if scale == "htk":
        assert hz_to_mel(torch.tensor(1000.0), scale).item() == pytest.approx(1000.0, abs=0.1)
    else:
        assert hz_to_mel(torch.tensor(1000.0), scale).item() == pytest.approx(15.0)  # 1000 / (200 / 3)


def test_filterbank_triangles_peak_at_one_and_cover_the_band():
    filters = mel_filterbank(n_fft=512, sample_rate=16000, n_mels=20)
    assert filters.shape == (257, 20)
    assert (filters >= 0).all() and filters.max() <= 1.0 + 1e-6
    assert (filters.amax(dim=0) > 0.5).all()  # every filter sees at least one bin
    centres = filters.argmax(dim=0)
    assert (centres[1:] > centres[:-1]).all()  # ordered low to high


def test_one_kilohertz_tone_lights_its_band():
    sr = 16000
    t = torch.arange(sr, dtype=torch.float32) / sr
    mel = MelSpectrogram(sr, n_fft=400, hop=160, n_mels=64)(0.1 * torch.sin(2 * torch.pi * 1000 * t))
    assert mel.shape == (64, sr // 160 + 1)  # centred frames
    # 1 kHz sits in the lower third of a 0..8 kHz mel scale (mel(1000) / mel(8000) ~ 0.35).
    assert 15 <= int(mel.mean(dim=1).argmax()) <= 27


def test_deltas_of_a_ramp_are_its_slope_and_odd_widths_only():
    ramp = torch.arange(20, dtype=torch.float32).repeat(3, 1) * 0.5
    torch.testing.assert_close(deltas(ramp, 5)[:, 2:-2], torch.full((3, 16), 0.5))
    with pytest.raises(ValueError, match="odd"):
        deltas(ramp, 4)


def test_matches_torchaudio():
    torchaudio = pytest.importorskip("torchaudio")  # installed with hear21passt
    wave = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 32000)).astype(np.float32))
    ours = MelSpectrogram(32000, n_fft=1024, hop=320, n_mels=128, win_length=800)(wave)
    theirs = torchaudio.transforms.MelSpectrogram(sample_rate=32000, n_fft=1024, win_length=800, hop_length=320,
                                                  n_mels=128, power=2.0)(wave)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4 * float(theirs.max()))
    slaney = torchaudio.functional.melscale_fbanks(2049, 0.0, 24000, 256, 48000, norm="slaney", mel_scale="slaney")
    torch.testing.assert_close(mel_filterbank(4096, 48000, 256, scale="slaney", area_normalize=True), slaney,
                               rtol=1e-4, atol=1e-6)
    features = torch.randn(3, 10, 50)
    torch.testing.assert_close(deltas(features, 5), torchaudio.functional.compute_deltas(features, win_length=5))
