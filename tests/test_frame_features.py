import json

import numpy as np
import pytest

from mmdemo.config import DEFAULT_ASSETS
from mmdemo.frame_features import extract, load_frame_features, main
from mmdemo.models.encoders import ImageEncoder, ImageEncoderConfig

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
