"""Mel spectrograms and their deltas in plain torch.

The audio models need only a mel filterbank, a power STFT and a delta regression; writing
them here keeps torchaudio (whose native library must match the installed torch build
exactly) off every request path. The formulas are the standard ones and the tests check
them against torchaudio's output where torchaudio is installed.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# Slaney's mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above.
_SLANEY_HZ_PER_MEL = 200.0 / 3
_SLANEY_LOG_START_HZ = 1000.0
_SLANEY_LOG_STEP = math.log(6.4) / 27.0


def hz_to_mel(hz: torch.Tensor, scale: str) -> torch.Tensor:
    if scale == "htk":
        return 2595.0 * torch.log10(1.0 + hz / 700.0)
    linear = hz / _SLANEY_HZ_PER_MEL
    log_start = _SLANEY_LOG_START_HZ / _SLANEY_HZ_PER_MEL
    logarithmic = log_start + torch.log(hz.clamp_min(1e-10) / _SLANEY_LOG_START_HZ) / _SLANEY_LOG_STEP
    return torch.where(hz >= _SLANEY_LOG_START_HZ, logarithmic, linear)


def mel_to_hz(mel: torch.Tensor, scale: str) -> torch.Tensor:
    if scale == "htk":
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    log_start = _SLANEY_LOG_START_HZ / _SLANEY_HZ_PER_MEL
    linear = mel * _SLANEY_HZ_PER_MEL
    logarithmic = _SLANEY_LOG_START_HZ * torch.exp(_SLANEY_LOG_STEP * (mel - log_start))
    return torch.where(mel >= log_start, logarithmic, linear)


def mel_filterbank(
    n_fft: int, sample_rate: int, n_mels: int, f_min: float = 0.0, f_max: float | None = None,
    scale: str = "htk", area_normalize: bool = False,
) -> torch.Tensor:
    """(n_fft // 2 + 1, n_mels) triangular filters, evenly spaced on the mel ``scale``.

    ``scale`` is "htk" or "slaney"; ``area_normalize`` divides each triangle by its width so
    that every filter has the same area (librosa's ``norm="slaney"``).
    """
    if scale not in ("htk", "slaney"):
        raise ValueError(f"Unknown mel scale {scale!r}; use 'htk' or 'slaney'.")
    f_max = sample_rate / 2 if f_max is None else f_max
    bins = torch.linspace(0, sample_rate // 2, n_fft // 2 + 1, dtype=torch.float64)
    edges_mel = torch.linspace(hz_to_mel(torch.tensor(f_min, dtype=torch.float64), scale).item(),
                               hz_to_mel(torch.tensor(f_max, dtype=torch.float64), scale).item(),
                               n_mels + 2, dtype=torch.float64)
    edges = mel_to_hz(edges_mel, scale)  # (n_mels + 2,) left, centre and right of each triangle
    widths = edges[1:] - edges[:-1]
    offsets = edges[None, :] - bins[:, None]  # (freqs, n_mels + 2)
    rising = -offsets[:, :-2] / widths[:-1]
    falling = offsets[:, 2:] / widths[1:]
    filters = torch.minimum(rising, falling).clamp_min(0.0)
    if area_normalize:
        filters = filters * (2.0 / (edges[2:] - edges[:-2]))[None, :]
    return filters.float()


def power_spectrogram(waveform: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor) -> torch.Tensor:
    """(..., samples) -> (..., n_fft // 2 + 1, frames) |STFT|^2, centred frames, reflect padding."""
    shape = waveform.shape
    flat = waveform.reshape(-1, shape[-1])
    spec = torch.stft(flat, n_fft, hop, win_length=window.numel(), window=window, center=True,
                      pad_mode="reflect", return_complex=True).abs().pow(2)
    return spec.reshape(*shape[:-1], *spec.shape[-2:])


class MelSpectrogram(nn.Module):
    """(..., samples) -> (..., n_mels, frames) mel power spectrogram (periodic Hann window).

    Filters and window are rebuilt from the arguments, so they are not stored in checkpoints.
    """

    def __init__(self, sample_rate: int, n_fft: int, hop: int, n_mels: int, win_length: int | None = None,
                 scale: str = "htk", area_normalize: bool = False) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(win_length or n_fft), persistent=False)
        self.register_buffer("filters", mel_filterbank(n_fft, sample_rate, n_mels, scale=scale,
                                                       area_normalize=area_normalize), persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        spec = power_spectrogram(waveform, self.n_fft, self.hop, self.window)
        return (spec.transpose(-1, -2) @ self.filters).transpose(-1, -2)


def deltas(features: torch.Tensor, width: int = 5) -> torch.Tensor:
    """Regression deltas along the last (time) axis over ``width`` frames, edges repeated."""
    if width < 3 or width % 2 == 0:
        raise ValueError(f"The delta width must be odd and at least 3, got {width}.")
    n = (width - 1) // 2
    shape = features.shape
    flat = features.reshape(-1, 1, shape[-1])
    padded = F.pad(flat, (n, n), mode="replicate")
    kernel = torch.arange(-n, n + 1, dtype=features.dtype, device=features.device).view(1, 1, -1)
    denominator = n * (n + 1) * (2 * n + 1) / 3
    return (F.conv1d(padded, kernel) / denominator).reshape(shape)
