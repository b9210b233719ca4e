"""The EfficientNet-Lite0 ImageNet weights: verified, mapped onto timm, and right on real photos."""

from pathlib import Path

import numpy as np
import pytest
import torch

from mmdemo.models import efficientnet_lite0 as lite0
from mmdemo.models.encoders import EFFICIENTNET_LITE0, IMAGENET, ImageEncoder, ImageEncoderConfig

# Real photos from Debian's opencv-doc (CI installs it; see the report of issue 16).
PHOTOS = Path("/usr/share/doc/opencv-doc/examples/data")
EXPECTED = {"orange.jpg": "orange", "squirrel_cls.jpg": "fox squirrel", "baboon.jpg": "baboon",
            "apple.jpg": "Granny Smith"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("lite0-cache")


def test_every_legacy_name_maps_onto_timm():
    legacy = torch.load(lite0.package_weights(), map_location="cpu", weights_only=True)
    timm_state = lite0.create_model(pretrained=False).state_dict()
    mapped = {lite0.timm_name(name): tensor.shape for name, tensor in legacy.items()}
    assert len(legacy) == 296 and set(mapped) == set(timm_state)
    assert all(timm_state[name].shape == shape for name, shape in mapped.items())
    assert lite0.timm_name("_blocks.3._expand_conv.weight") == "blocks.2.0.conv_pw.weight"
    assert lite0.timm_name("_blocks.0._project_conv.weight") == "blocks.0.0.conv_pw.weight"
    assert lite0.timm_name("_fc.weight") == "classifier.weight"


def test_a_file_with_another_hash_is_refused(tmp_path):
    fake = tmp_path / "efficientnet-lite0-57934424.pth"
    fake.write_bytes(b"not the release")
    with pytest.raises(ValueError, match="sha256"):
        lite0.convert(fake, tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists()


def test_the_safetensors_copy_is_what_later_loads_read(cache):
    state = lite0.imagenet_state_dict(cache)
    copies = list((cache / "efficientnet_lite0").glob("*.safetensors"))
    assert len(copies) == 1 and sum(t.numel() for t in state.values()) == pytest.approx(4.69e6, rel=0.01)


def _photo(name: str) -> np.ndarray:
    from PIL import Image  # a trusted Debian file in a test, not an upload: no need for mmdemo.media

    if not (PHOTOS / name).is_file():
        pytest.skip(f"needs Debian's opencv-doc ({PHOTOS / name})")
    return np.array(Image.open(PHOTOS / name).convert("RGB"))


def test_the_imagenet_head_ranks_real_photos_sensibly(cache):
    from timm.data import ImageNetInfo

    model = lite0.create_model(cache_dir=cache)
    encoder = ImageEncoder(ImageEncoderConfig(model=EFFICIENTNET_LITE0, pretrained=IMAGENET), model,
                           lite0.EfficientNetLite0Config.mean, lite0.EfficientNetLite0Config.std, image_size=224, dim=1000)
    info = ImageNetInfo()
    for name, label in EXPECTED.items():
        with torch.inference_mode():
            logits = model(encoder.preprocess(_photo(name)[None]))[0]
        top5 = [info.index_to_description(int(i)) for i in logits.topk(5).indices]
        assert any(label in description for description in top5), (name, top5)


def test_frame_features_are_imagenet_features(cache, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache.parent))
    encoder = ImageEncoder.from_config(ImageEncoderConfig(model=EFFICIENTNET_LITE0, pretrained=IMAGENET))
    frames = np.stack([_photo("orange.jpg")[:300, :300], _photo("baboon.jpg")[:300, :300]])
    features = encoder.encode(frames)
    assert features.shape == (2, 1280) and encoder.dim == 1280
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)
    assert float(features[0] @ features[1]) < 0.9  # an orange and a baboon are told apart
