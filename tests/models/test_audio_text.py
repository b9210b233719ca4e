from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from mmdemo.models.audio_text import (
    AudioTowerConfig,
    DualEncoder,
    DualEncoderConfig,
    normalize_caption,
    segment_waveform,
)

RATE = 32000


def tone(seconds: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A Dog's bark, then RAIN!", "a dogs bark then rain"),
        ("  high-pitched\tbeeps...  fading  ", "high pitched beeps fading"),
        ("“Quoted” words — and (brackets); a colon: yes?", "quoted words and brackets a colon yes"),
        ("It’s 3 o’clock", "its 3 oclock"),
    ],
)
def test_normalize_caption(raw, expected):
    assert normalize_caption(raw) == expected


@pytest.mark.parametrize("length, starts", [(500, [0]), (1000, [0]), (3000, [0, 1000, 2000]), (2500, [0, 1000, 1500])])
def test_segments_are_full_length_and_cover_the_clip(length, starts):
    waveform = np.arange(length, dtype=np.float32)
    pieces = segment_waveform(waveform, 1000)
    assert [int(p[0]) for p in pieces] == starts
    assert all(len(p) == min(length, 1000) for p in pieces)
    assert pieces[-1][-1] == length - 1  # the last piece ends at the clip's end


def test_towers_give_unit_vectors_in_the_shared_space(dual_encoder, dual_encoder_config):
    audio = dual_encoder.embed_audio(torch.from_numpy(np.stack([tone(1.0), tone(1.0, 880)])))
    tokens = dual_encoder.tokenize(["A high tone.", "a low hum that fades away slowly"])
    text = dual_encoder.embed_text(**tokens)
    assert audio.shape == text.shape == (2, dual_encoder_config.embed_dim)
    assert torch.allclose(audio.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert torch.allclose(text.norm(dim=-1), torch.ones(2), atol=1e-5)
    logits = dual_encoder(torch.from_numpy(np.stack([tone(1.0), tone(1.0, 880)])), **tokens)
    assert logits.shape == (2, 2)
    assert float(dual_encoder.logit_scale().detach()) == pytest.approx(1 / dual_encoder_config.init_temperature, rel=1e-5)


def test_captions_are_cut_at_32_tokens(dual_encoder):
    tokens = dual_encoder.tokenize(["word " * 100])
    assert tokens["input_ids"].shape[1] == 32


def test_logit_scale_is_clamped(dual_encoder_config):
    dual_encoder = DualEncoder.from_config(replace(dual_encoder_config, init_temperature=1e-4), pretrained=False)
    assert float(dual_encoder.logit_scale().detach()) == dual_encoder_config.max_logit_scale


def test_only_the_top_text_layers_train(dual_encoder):
    trainable = {name.split(".")[4] for name, p in dual_encoder.named_parameters()
                 if p.requires_grad and name.startswith("text.backbone.encoder.layer.")}
    assert trainable == {"5"}  # MiniLM has 6 layers; the config fine-tunes the top one
    assert not any(p.requires_grad for p in dual_encoder.text.backbone.embeddings.parameters())


def test_passt_builds_offline_with_the_papers_patchout():
    config = DualEncoderConfig(audio=AudioTowerConfig(kind="passt", passt_variant="N"), text_train_layers=0)
    dual_encoder = DualEncoder.from_config(config, pretrained=False)
    net = dual_encoder.audio.net
    assert (net.s_patchout_f, net.s_patchout_t) == (2, 15)  # section 2.1, PaSST-N
    assert dual_encoder.audio.dim == 768
    waveform = torch.from_numpy(np.stack([tone(2.0), tone(2.0, 900)]))
    dual_encoder.train()
    assert dual_encoder.embed_audio(waveform).shape == (2, config.embed_dim)
    dual_encoder.eval()
    with torch.no_grad():
        assert dual_encoder.embed_audio(waveform).shape == (2, config.embed_dim)
    with pytest.raises(ValueError, match="unknown PaSST variant"):
        DualEncoder.from_config(replace(config, audio=AudioTowerConfig(kind="passt", passt_variant="XL")), pretrained=False)
