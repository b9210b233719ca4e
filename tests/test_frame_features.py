import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from mmdemo.config import DEFAULT_ASSETS
from mmdemo.frame_features import (
    extract,
    extract_scene,
    load_frame_features,
    load_scene_features,
    main,
    read_scene_frames,
)
from mmdemo.media.ffmpeg import ffmpeg_exe
from mmdemo.models.encoders import ImageEncoder, ImageEncoderConfig
from mmdemo.models.scene import FrameSceneConfig

CLIP = DEFAULT_ASSETS / "corpus" / "chin-tuck-neck-pain.mp4"


@pytest.fixture(scope="module")
def encoder():
    return ImageEncoder.from_config(ImageEncoderConfig(batch_size=8))


def test_preprocess_crops_any_frame_shape_to_the_model_size(encoder):
    for h, w in ((360, 640), (1280, 720), (100, 100)):
        x = encoder.preprocess(np.zeros((2, h, w, 3), dtype=np.uint8))
        assert x.shape == (2, 3, encoder.image_size, encoder.image_size)


@pytest.mark.slow
def test_extract_embeds_caches_and_reports_bad_files(tmp_path, encoder):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    out = tmp_path / "features"
    report = extract([CLIP, broken], out, fps=0.5, encoder=encoder)
    assert report["embedded"] == [CLIP.stem] and "broken.mp4" in report["failed"]

    embeddings, times, settings = load_frame_features(out / f"{CLIP.stem}.safetensors")
    assert embeddings.shape == (len(times), encoder.dim) and len(times) >= 15  # 0.5 fps over ~35 s
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-4)
    assert np.all(np.diff(times) > 0) and settings["model"] == "ViT-B-32" and settings["fps"] == "0.5"

    again = extract([CLIP], out, fps=0.5, encoder=encoder)
    assert again["cached"] == [CLIP.stem] and not again["embedded"]
    assert extract([CLIP], out, fps=0.25, encoder=encoder)["embedded"] == [CLIP.stem]  # new settings, new features


@pytest.mark.slow
def test_cli_prints_one_json_report(tmp_path, capsys):
    assert main(["--videos", str(CLIP), "--out", str(tmp_path), "--fps", "0.2"]) == 0
    assert json.loads(capsys.readouterr().out)["embedded"] == [CLIP.stem]


# -- the scene late fusion's features (--scene) ---------------------------------------------------

SMALL = "ViT-S-32-alt"  # a small open_clip model, random weights offline


@pytest.fixture(scope="module")
def ten_seconds(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scene") / "street.mp4"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=10",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)], check=True, timeout=120)
    return path


def test_scene_frames_are_twelve_per_ten_seconds_at_interval_middles(ten_seconds):
    frames, times = read_scene_frames(ten_seconds, size=48)
    assert frames.shape == (12, 48, 64, 3)
    np.testing.assert_allclose(times, (np.arange(12) + 0.5) * 10 / 12, atol=0.05)


def test_scene_features_one_folder_per_model_checked_when_read(ten_seconds, tmp_path):
    small = ImageEncoder.from_config(ImageEncoderConfig(model=SMALL))
    report = extract_scene([ten_seconds], tmp_path, [small])
    assert report == {SMALL: {"embedded": ["street"], "cached": [], "failed": {}}}
    features = load_scene_features(tmp_path, "street", [ImageEncoderConfig(model=SMALL)])
    assert features[SMALL].shape == (12, 256)
    assert extract_scene([ten_seconds], tmp_path, [small])[SMALL]["cached"] == ["street"]
    with pytest.raises(ValueError, match="pretrained='openai'"):  # other weights: refused, not misread
        load_scene_features(tmp_path, "street", [ImageEncoderConfig(model=SMALL, pretrained="openai")])
    with pytest.raises(ValueError, match="frames_per_clip='6'"):
        load_scene_features(tmp_path, "street", [ImageEncoderConfig(model=SMALL)], FrameSceneConfig(frames_per_clip=6))
    with pytest.raises(FileNotFoundError, match="--scene .* --models ViT-S-32"):
        load_scene_features(tmp_path, "street", [ImageEncoderConfig(model="ViT-S-32")])


def test_scene_random_weights_are_the_same_in_every_process():
    frames = np.random.default_rng(0).integers(0, 256, (2, 40, 50, 3), dtype=np.uint8)
    first = ImageEncoder.from_config(ImageEncoderConfig(model=SMALL)).encode(frames)
    torch.manual_seed(123)  # whatever the caller's random state
    np.testing.assert_array_equal(ImageEncoder.from_config(ImageEncoderConfig(model=SMALL)).encode(frames), first)


@pytest.mark.parametrize("flags", [["--models", SMALL], ["--per-clip", "6"], ["--scene", "--fps", "1"]])
def test_cli_keeps_the_two_modes_apart(tmp_path, flags):
    with pytest.raises(SystemExit):
        main(["--videos", str(tmp_path), "--out", str(tmp_path / "o"), *flags])
