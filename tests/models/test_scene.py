import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from mmdemo.models.scene import (
    AudioSceneConfig,
    AudioSceneModel,
    CLIPLateFusion,
    FrameSceneConfig,
    FrameSceneModel,
    FusionConfig,
    LogMelDeltas,
    ZeroShotCLIP,
    ZeroShotConfig,
    class_prompts,
    focal_loss,
    frame_indices,
    frames_to_tensor,
    frequency_mask,
    segment_average,
    split_segments,
)

SR = 48000


def tones(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """A few tones over noise: energy in many mel bands, changing over time."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * SR)) / SR
    wave = 0.05 * rng.standard_normal(len(t))
    for f in (220.0, 1000.0, 5000.0):
        wave += 0.1 * np.sin(2 * np.pi * f * t) * (1 + np.sin(2 * np.pi * 2 * t))
    return wave.astype(np.float32)


# ----------------------------------------------------------------------------------------------
# audio front end and model


@pytest.mark.slow  # librosa's first calls take seconds
def test_front_end_matches_librosa_log_mel_and_deltas():
    librosa = pytest.importorskip("librosa")
    config = AudioSceneConfig()
    wave = tones()
    ours = LogMelDeltas(config)(torch.from_numpy(wave)[None])[0].numpy()
    assert ours.shape == (3, 256, 1 + SR // 512)  # 256 mels x 94 frames of one second
    mel = librosa.feature.melspectrogram(y=wave.astype(np.float64), sr=SR, n_fft=4096, hop_length=512, n_mels=256, pad_mode="reflect")
    db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0)
    np.testing.assert_allclose(ours[0], db, atol=0.02)
    delta = librosa.feature.delta(db, width=5)  # same 5-frame regression; edges are padded differently
    np.testing.assert_allclose(ours[1][:, 2:-2], delta[:, 2:-2], atol=0.02)
    delta2 = librosa.feature.delta(delta, width=5)
    np.testing.assert_allclose(ours[2][:, 4:-4], delta2[:, 4:-4], atol=0.02)


def test_gain_shifts_only_the_log_mel_channel():
    frontend = LogMelDeltas(AudioSceneConfig())
    wave = torch.from_numpy(tones())[None]
    quiet, loud = frontend(wave), frontend(2.0 * wave)
    np.testing.assert_allclose((loud[:, 0] - quiet[:, 0]).numpy(), 20 * math.log10(2.0), atol=1e-3)
    np.testing.assert_allclose(loud[:, 1:].numpy(), quiet[:, 1:].numpy(), atol=1e-3)


def test_frequency_mask_zeroes_one_band_in_every_channel():
    torch.manual_seed(0)
    x = torch.ones(64, 3, 256, 10)
    masked = frequency_mask(x, max_bins=32)
    for example in masked:
        zero_rows = (example == 0).all(dim=-1)  # (3, 256)
        assert (zero_rows == zero_rows[0]).all()  # the same band in all three channels
        rows = torch.nonzero(zero_rows[0]).flatten()
        assert len(rows) <= 32
        if len(rows):
            assert rows[-1] - rows[0] + 1 == len(rows)  # contiguous
    assert (masked == 0).any()


@pytest.fixture(scope="module")
def audio_model():
    torch.manual_seed(0)
    return AudioSceneModel(AudioSceneConfig(num_classes=5))


def test_audio_model_shapes_and_backward(audio_model):
    wave = torch.from_numpy(np.stack([tones(seed=0), tones(seed=1)]))
    audio_model.train()
    logits = audio_model(wave)
    assert logits.shape == (2, 5)
    focal_loss(logits, torch.tensor([0, 3])).backward()
    assert audio_model.backbone.get_classifier().weight.grad is not None
    # the mel filters are rebuilt from the config, not stored in checkpoints
    assert not any(key.startswith("frontend.") for key in audio_model.state_dict())


def test_audio_augmentation_only_in_training(audio_model):
    wave = torch.from_numpy(np.stack([tones(seed=2), tones(seed=3)]))
    audio_model.eval()
    with torch.no_grad():
        torch.manual_seed(1)
        first = audio_model(wave)
        torch.manual_seed(2)
        assert torch.equal(first, audio_model(wave))
        audio_model.train()
        torch.manual_seed(1)
        a = audio_model(wave)
        torch.manual_seed(2)
        b = audio_model(wave)
    audio_model.eval()
    assert not torch.allclose(a, b)  # random gain and frequency masking


def test_audio_model_without_augmentation_is_deterministic_in_training():
    torch.manual_seed(0)
    model = AudioSceneModel(AudioSceneConfig(num_classes=3, gain_db=0.0, freq_mask_bins=0)).train()
    wave = torch.from_numpy(np.stack([tones(seed=4), tones(seed=5)]))
    with torch.no_grad():
        torch.manual_seed(1)
        a = model(wave)
        torch.manual_seed(2)
        assert torch.allclose(a, model(wave))


def test_split_segments_keeps_whole_seconds():
    config = AudioSceneConfig()
    clip = torch.arange(10 * SR + 1000, dtype=torch.float32)  # 10 s and a bit (AAC padding)
    segments = split_segments(clip, config)
    assert segments.shape == (10, SR)
    assert torch.equal(segments[3], clip[3 * SR : 4 * SR])
    short = split_segments(np.ones(SR // 2, dtype=np.float32), config)
    assert short.shape == (1, SR) and short[0, : SR // 2].eq(1).all() and short[0, SR // 2 :].eq(0).all()


def test_paper_audio_configs_name_the_table_2_backbones():
    assert AudioSceneConfig.paper("A01").backbone == "regnetx_064"
    assert AudioSceneConfig.paper("A02", num_classes=4).num_classes == 4
    assert AudioSceneConfig.paper("A03").sample_rate == 48000


# ----------------------------------------------------------------------------------------------
# frame model


def test_frame_indices_twelve_per_ten_seconds():
    config = FrameSceneConfig()
    np.testing.assert_array_equal(frame_indices(60, 10.0, config), [2, 7, 12, 17, 22, 27, 32, 37, 42, 47, 52, 57])
    assert len(frame_indices(300, 10.0, config)) == 12
    assert len(frame_indices(150, 5.0, config)) == 6
    np.testing.assert_array_equal(frame_indices(1, 10.0, config), [0])  # a one-frame video
    np.testing.assert_array_equal(frame_indices(5, 0.1, config), [2])  # very short: one frame, the middle


def test_frame_model_shapes_and_augmentation():
    torch.manual_seed(0)
    model = FrameSceneModel(FrameSceneConfig(num_classes=4, image_size=64))
    frames = np.random.default_rng(0).integers(0, 256, (3, 90, 160, 3), dtype=np.uint8)  # any size, any aspect
    images = frames_to_tensor(frames)
    assert images.shape == (3, 3, 90, 160) and 0 <= images.min() and images.max() <= 1
    model.eval()
    with torch.no_grad():
        logits = model(images)
        assert logits.shape == (3, 4) and torch.equal(logits, model(images))
        model.train()
        torch.manual_seed(1)
        a = model(images)
        torch.manual_seed(2)
        assert not torch.allclose(a, model(images))
    model.train()
    focal_loss(model(images), torch.tensor([0, 1, 3])).backward()


def test_frame_augmentations_follow_section_3():
    model = FrameSceneModel(FrameSceneConfig())
    affine, jitter, blur = model.augment.transforms
    assert list(affine.degrees) == [-10.0, 10.0] and tuple(affine.translate) == (0.1, 0.1) and tuple(affine.scale) == (0.5, 1.5)
    assert list(blur.kernel_size) == [11, 11]
    assert model.erase.p == 0.5
    assert (jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue) == (None, None, None, None)  # PyTorch defaults


@pytest.mark.slow
def test_paper_frame_backbones_have_table_5_parameter_counts():
    expected = {"V01": 24.60, "V02": 25.45, "V03": 19.27}  # Table 5, millions
    for index, millions in expected.items():
        model = FrameSceneModel(FrameSceneConfig.paper(index))
        assert model.config.image_size == 448
        assert round(sum(p.numel() for p in model.parameters()) / 1e6, 2) == millions, index


# ----------------------------------------------------------------------------------------------
# CLIP late fusion (Table 1)


def test_late_fusion_is_table_1():
    model = CLIPLateFusion(FusionConfig())
    for branch, width in zip(model.branches, (640, 512, 512)):
        linear1, norm, relu, dropout, linear2 = branch
        assert (linear1.in_features, linear1.out_features) == (width, 512)
        assert norm.num_features == 512 and isinstance(relu, torch.nn.ReLU) and dropout.p == 0.2
        assert (linear2.in_features, linear2.out_features) == (512, 256)
    assert (model.fuse.in_features, model.fuse.out_features) == (768, 128)
    assert (model.head.in_features, model.head.out_features) == (128, 10)
    branch = lambda d: (d * 512 + 512) + 2 * 512 + (512 * 256 + 256)  # Linear, BatchNorm1d (weight, bias), Linear
    by_hand = branch(640) + 2 * branch(512) + (768 * 128 + 128) + (128 * 10 + 10)
    assert by_hand == 1_350_282
    assert sum(p.numel() for p in model.parameters()) == by_hand
    assert round(by_hand / 1e6, 2) == 1.35  # Table 5, C04


def test_late_fusion_forward_and_any_encoder_set():
    torch.manual_seed(0)
    model = CLIPLateFusion(FusionConfig(num_classes=4, encoders=("ViT-B-32", "RN50x4")))
    assert model.fuse.in_features == 2 * 256
    features = {"ViT-B-32": torch.randn(6, 512), "RN50x4": torch.randn(6, 640)}
    assert model.train()(features).shape == (6, 4)
    with pytest.raises(KeyError, match="RN50x4"):
        model({"ViT-B-32": torch.randn(6, 512)})
    with pytest.raises(ValueError, match="no-such-model"):
        CLIPLateFusion(FusionConfig(encoders=("no-such-model",)))


# ----------------------------------------------------------------------------------------------
# zero-shot CLIP (Table 2, C01-C03)


def test_class_prompts_read_labels_as_sentences():
    assert class_prompts(["street_pedestrian", "park"]) == ["street pedestrian", "park"]
    assert class_prompts(["metro_station"], "a photo of a {}.") == ["a photo of a metro station."]


def test_zero_shot_is_scaled_cosine_with_the_mean_frame():
    classes = ["park", "street_traffic", "metro"]
    model = ZeroShotCLIP.from_config(ZeroShotConfig(model="ViT-S-32"), classes)  # random weights
    text = model.class_embeddings
    assert text.shape == (3, 384)
    np.testing.assert_allclose(text.norm(dim=-1).numpy(), 1.0, atol=1e-5)
    assert model.logit_scale == pytest.approx(1 / 0.07, rel=1e-4)  # open_clip's initial scale
    frames = F.normalize(torch.randn(2, 5, 384), dim=-1)
    mean = F.normalize(frames.mean(dim=1), dim=-1)
    expected = model.logit_scale * mean @ text.T
    torch.testing.assert_close(model(frames), expected)
    probs = model.classify_frames(np.random.default_rng(0).integers(0, 256, (4, 64, 80, 3), dtype=np.uint8))
    assert probs.shape == (3,) and probs.sum() == pytest.approx(1.0, abs=1e-5)


# ----------------------------------------------------------------------------------------------
# focal loss and clip averaging


def test_focal_loss_on_hand_computed_values():
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])  # p(class 0) = 0.5 and 0.75
    targets = torch.tensor([0, 0])
    first = 0.5**2 * math.log(2.0)  # (1 - 0.5)^2 * -log 0.5 = 0.1732868
    second = 0.25**2 * -math.log(0.75)  # (1 - 0.75)^2 * -log 0.75 = 0.0179801
    assert focal_loss(logits, targets).item() == pytest.approx((first + second) / 2, rel=1e-6)
    assert focal_loss(logits, targets, gamma=0.0).item() == pytest.approx(F.cross_entropy(logits, targets).item(), rel=1e-6)


def test_focal_loss_down_weights_easy_examples():
    easy, hard = torch.tensor([[4.0, 0.0]]), torch.tensor([[0.5, 0.0]])
    target = torch.tensor([0])
    ratio_focal = focal_loss(easy, target) / focal_loss(hard, target)
    ratio_ce = F.cross_entropy(easy, target) / F.cross_entropy(hard, target)
    assert ratio_focal < ratio_ce / 10


def test_segment_average_is_the_mean_of_softmax():
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0], [0.0, math.log(4.0)]])
    one = segment_average(logits[:2])
    torch.testing.assert_close(one, torch.tensor([[0.625, 0.375]]))
    by_clip = segment_average(logits, torch.tensor([0, 0, 1]))
    torch.testing.assert_close(by_clip, torch.tensor([[0.625, 0.375], [0.2, 0.8]]))
    with_empty = segment_average(logits, torch.tensor([0, 0, 2]), num_clips=4)
    torch.testing.assert_close(with_empty[1], torch.zeros(2))
    assert with_empty.shape == (4, 2)
