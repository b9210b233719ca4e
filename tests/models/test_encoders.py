import numpy as np
import pytest

from mmdemo.config import set_offline_environment
from mmdemo.models.encoders import TextEncoder, TextEncoderConfig, resolve_model_path

set_offline_environment()


@pytest.fixture(scope="module")
def random_encoder():
    return TextEncoder.from_config(TextEncoderConfig(), pretrained=False)


def test_minilm_resolves_to_bundled_folder():
    from pathlib import Path

    assert (Path(resolve_model_path("minilm")) / "config.json").is_file()
    assert resolve_model_path("org/some-model") == "org/some-model"


def test_encode_shape_and_unit_norm(random_encoder):
    out = random_encoder.encode(["a", "a much longer sentence about bandages", "cpr"])
    assert out.shape == (3, random_encoder.dim) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_length_sorted_batching_keeps_input_order(random_encoder):
    texts = ["short", "a somewhat longer text here", "mid length text", "x"]
    together = random_encoder.encode(texts, batch_size=64)
    one_by_one = np.concatenate([random_encoder.encode([t]) for t in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)


def test_empty_input(random_encoder):
    assert random_encoder.encode([]).shape == (0, random_encoder.dim)


def test_unknown_pooling_is_refused(random_encoder):
    with pytest.raises(ValueError):
        TextEncoder(TextEncoderConfig(pooling="max"), random_encoder.backbone, random_encoder.tokenizer)


@pytest.mark.slow
def test_pretrained_minilm_ranks_paraphrase_above_unrelated():
    encoder = TextEncoder.from_config(TextEncoderConfig())
    q, para, other = encoder.encode(["how to do chest compressions", "push hard and fast on the chest", "bake the bread"])
    assert q @ para > q @ other + 0.1
