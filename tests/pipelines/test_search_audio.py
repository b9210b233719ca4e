"""AudioSearch on a tiny collection with a small random-weight model: mechanics and bad input."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from mmdemo.checkpoint import save_checkpoint
from mmdemo.config import Limits, Settings
from mmdemo.errors import InputError
from mmdemo.models.audio_text import AudioTowerConfig, DualEncoder, DualEncoderConfig
from mmdemo.models.factory import AUDIO_TEXT
from mmdemo.pipelines.audio_retriever import AudioChecks
from mmdemo.pipelines.search_audio import CHECKPOINT_DIR, COLLECTION_DIR, INDEX_DIR, AudioSearch
from training.data.synthetic_audio import generate_collection

RATE = 32000


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def tone(seconds: float, rate: int = RATE, freq: float = 440.0) -> np.ndarray:
    return 0.3 * np.sin(2 * np.pi * freq * np.arange(int(seconds * rate)) / rate)


@pytest.fixture(scope="module")
def assets(tmp_path_factory) -> Path:
    """assets/ with a 6-clip collection and a small random-weight dual encoder export."""
    root = tmp_path_factory.mktemp("assets")
    generate_collection(root / COLLECTION_DIR, 6, seed=1)
    torch.manual_seed(0)
    config = DualEncoderConfig(audio=AudioTowerConfig(cnn_channels=(8, 16), cnn_segment_seconds=2.0), embed_dim=32,
                               text_train_layers=0)
    model = DualEncoder.from_config(config, pretrained=True)
    save_checkpoint(root / "checkpoints" / CHECKPOINT_DIR, model.trained_state_dict(), family=AUDIO_TEXT, config=config,
                    meta={"task": "test"})
    return root


@pytest.fixture(scope="module")
def search(assets) -> AudioSearch:
    return AudioSearch.load(Settings(assets_dir=assets, limits=Limits(max_question_chars=80)))


def test_text_search_lists_clips_best_first_with_spectrograms(search):
    result = search.search_text("  high   beeps over brown noise ", top_k=4)
    assert result.query == "high beeps over brown noise"
    scores = [h.score for h in result.hits]
    assert len(scores) == 4 and scores == sorted(scores, reverse=True)
    assert all(h.path.is_file() and h.caption for h in result.hits)
    answer = result.to_json()
    assert set(answer) == {"query", "results", "captions", "note"} and answer["query"] == result.query
    assert [set(a) for a in answer["results"]] == [{"clip_id", "score", "caption"}] * 4
    spec = result.spectrograms[0]
    assert spec["clip_id"] == result.hits[0].clip_id and spec["power"].shape[0] == 128 and spec["seconds"] == pytest.approx(4.0)


def test_top_k_is_bounded_by_the_collection_and_the_limit(search):
    assert len(search.search_text("a bell", top_k=50).hits) == 6


def test_a_clip_of_the_collection_finds_itself_first(search, assets):
    clip = sorted((assets / COLLECTION_DIR).glob("*.wav"))[2]
    result = search.search_audio(clip, top_k=3)
    assert result.hits[0].clip_id == clip.stem
    assert result.hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert len(result.captions) == 3
    assert [c["score"] for c in result.captions] == sorted((c["score"] for c in result.captions), reverse=True)
    assert result.note == ""


@pytest.mark.parametrize("query, message", [
    ("", "Please type a description of a sound"),
    ("   ", "Please type a description of a sound"),
    ("??", "too short"),
    ("x" * 200, "too long"),
])
def test_bad_queries_are_refused_with_a_reason(search, query, message):
    with pytest.raises(InputError, match=message):
        search.search_text(query)


def test_bad_recordings_are_refused_with_a_reason(search, tmp_path):
    (tmp_path / "notes.wav").write_text("this is not audio at all")
    write_wav(tmp_path / "silence.wav", np.zeros(RATE))
    write_wav(tmp_path / "blip.wav", tone(0.1))
    with pytest.raises(InputError):
        search.search_audio(tmp_path / "notes.wav")
    with pytest.raises(InputError, match="silent"):
        search.search_audio(tmp_path / "silence.wav")
    with pytest.raises(InputError, match="0.10 s long"):
        search.search_audio(tmp_path / "blip.wav")
    with pytest.raises(InputError, match="upload or record"):
        search.search_audio(None)


@pytest.mark.parametrize("rate, channels", [(8000, 1), (192000, 2), (48000, 8)])
def test_unusual_rates_and_channel_counts_are_searchable(search, tmp_path, rate, channels):
    path = write_wav(tmp_path / f"odd-{rate}-{channels}.wav", np.repeat(tone(1.0, rate), channels), rate, channels)
    assert len(search.search_audio(path, top_k=2).hits) == 2


def test_long_recordings_are_cut_at_the_limit_and_say_so(assets, tmp_path):
    search = AudioSearch.load(Settings(assets_dir=assets))
    search.retriever().checks = AudioChecks(max_seconds=2.0)
    result = search.search_audio(write_wav(tmp_path / "long.wav", tone(5.0)), top_k=1)
    assert "only its first" in result.note


def test_a_prebuilt_index_of_the_same_weights_is_used_and_a_stale_one_rebuilt(assets, tmp_path, monkeypatch):
    from mmdemo.retrieval.vector_index import VectorIndex

    root = tmp_path / "assets"
    shutil.copytree(assets, root)
    first = AudioSearch.load(Settings(assets_dir=root))
    first.index().save(root / INDEX_DIR)
    reused = AudioSearch.load(Settings(assets_dir=root))
    monkeypatch.setattr(type(reused.retriever()), "embed_audio_file",
                        lambda self, path: pytest.fail("a matching prebuilt index must not be re-embedded"))
    assert len(reused.index()) == 6
    monkeypatch.undo()

    stale = VectorIndex.load(root / INDEX_DIR)
    stale.info["weights_sha256"] = "0" * 64
    stale.save(root / INDEX_DIR)
    rebuilt = AudioSearch.load(Settings(assets_dir=root))
    calls = []
    original = type(rebuilt.retriever()).embed_audio_file
    monkeypatch.setattr(type(rebuilt.retriever()), "embed_audio_file",
                        lambda self, path: calls.append(path) or original(self, path))
    assert len(rebuilt.index()) == 6 and len(calls) == 6


def test_without_a_model_the_search_says_what_is_missing(tmp_path):
    search = AudioSearch.load(Settings(assets_dir=tmp_path))
    assert not search.available()
    with pytest.raises(InputError, match="No audio search model"):
        search.search_text("a dog barks")

