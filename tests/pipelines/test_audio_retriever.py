"""The audio search service over a dual encoder: segmenting, checks, any rate and channel count, exports."""

from __future__ import annotations

import wave

import numpy as np
import pytest
import torch

from mmdemo.checkpoint import save_checkpoint
from mmdemo.errors import InputError
from mmdemo.models.audio_text import segment_waveform
from mmdemo.models.factory import AUDIO_TEXT, load_model
from mmdemo.pipelines.audio_retriever import AudioTextRetriever

RATE = 32000


def tone(seconds: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_retriever_embeds_long_clips_as_the_mean_of_their_segments(dual_encoder):
    retriever = AudioTextRetriever(dual_encoder)
    clip = np.concatenate([tone(1.0, 300), tone(1.0, 3000), tone(0.5, 800)])
    pieces = segment_waveform(clip, dual_encoder.segment_samples)
    assert len(pieces) == 3
    with torch.no_grad():
        each = dual_encoder.embed_audio(torch.from_numpy(pieces))
    expected = torch.nn.functional.normalize(each.mean(0), dim=0).numpy()
    np.testing.assert_allclose(retriever.embed_waveform(clip), expected, atol=1e-5)
    np.testing.assert_array_equal(retriever.embed_waveform(clip), retriever.embed_waveform(clip.copy()))


def write_wav(path, samples: np.ndarray, rate: int = RATE, channels: int = 1) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def test_retriever_refuses_silence_and_blips(dual_encoder, tmp_path):
    retriever = AudioTextRetriever(dual_encoder)
    write_wav(tmp_path / "silence.wav", np.zeros(RATE))
    write_wav(tmp_path / "blip.wav", tone(0.1))
    with pytest.raises(InputError, match="silent"):
        retriever.embed_audio_file(tmp_path / "silence.wav")
    with pytest.raises(InputError, match=r"0\.10 s long"):
        retriever.embed_audio_file(tmp_path / "blip.wav")


def test_other_rates_and_channel_counts_embed_like_the_original(dual_encoder, tmp_path):
    retriever = AudioTextRetriever(dual_encoder)
    clip = tone(1.5, 440)
    write_wav(tmp_path / "plain.wav", clip)
    t = np.arange(int(1.5 * 48000)) / 48000
    write_wav(tmp_path / "stereo48k.wav", np.repeat(0.3 * np.sin(2 * np.pi * 440 * t), 2), rate=48000, channels=2)
    a = retriever.embed_audio_file(tmp_path / "plain.wav")
    b = retriever.embed_audio_file(tmp_path / "stereo48k.wav")
    assert float(a @ b) > 0.99


def test_export_round_trip_stores_only_trained_text_layers(dual_encoder, dual_encoder_config, tmp_path):
    state = dual_encoder.trained_state_dict()
    assert not any(name.startswith("text.backbone.encoder.layer.0.") for name in state)
    assert any(name.startswith("text.backbone.encoder.layer.5.") for name in state)
    save_checkpoint(tmp_path / "export", state, family=AUDIO_TEXT, config=dual_encoder_config, meta={"task": "test"})
    loaded = load_model(tmp_path / "export", AUDIO_TEXT)
    original, reloaded = AudioTextRetriever(dual_encoder), AudioTextRetriever(loaded)
    np.testing.assert_allclose(original.embed_texts(["a chirp"]), reloaded.embed_texts(["a chirp"]), atol=1e-6)
    np.testing.assert_allclose(original.embed_waveform(tone(1.0)), reloaded.embed_waveform(tone(1.0)), atol=1e-6)
