import hashlib
import wave

import numpy as np
import pytest

import mmdemo.index
from mmdemo.errors import InputError
from mmdemo.index import main
from mmdemo.retrieval.vector_index import FAISS_FILE, JSON_FILE, VectorIndex

RATE = 8000
GOOD = ["a.wav", "b.wav", "sub/c.wav", "z.wav"]  # sorted order, as the indexer walks them


class FakeEmbedder:
    """Hashes a file's bytes to a unit vector; refuses files that are not RIFF; may 'crash' on call n."""

    dim = 8

    def __init__(self, interrupt_on_call: int | None = None, name: str = "fake") -> None:
        self.calls: list[str] = []
        self.interrupt_on_call = interrupt_on_call
        self.name = name

    def embed_audio_file(self, path):
        self.calls.append(path.name)
        if len(self.calls) == self.interrupt_on_call:
            raise KeyboardInterrupt
        data = path.read_bytes()
        if not data.startswith(b"RIFF"):
            raise InputError(f"cannot decode {path.name}")
        return vector_of(data)

    def describe(self):
        return {"checkpoint": self.name, "weights_sha256": "0" * 8}


def vector_of(data: bytes) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(data).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(FakeEmbedder.dim)
    return (v / np.linalg.norm(v)).astype(np.float32)


def write_wav(path, seconds: float, freq: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * RATE)) / RATE
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes((np.sin(2 * np.pi * freq * t) * 10000).astype("<i2").tobytes())


@pytest.fixture
def sounds(tmp_path):
    root = tmp_path / "sounds"
    for i, name in enumerate(GOOD):
        write_wav(root / name, 0.25 * (i + 1), 220.0 * (i + 1))
    (root / "broken.wav").write_bytes(b"\x00garbage" * 10)
    (root / "notes.txt").write_text("not audio")
    write_wav(root / ".hidden.wav", 0.5, 100.0)
    (root / "captions.csv").write_text(
        "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n"
        "a.wav,a low hum,x,x,x,x\n"
        "c.wav,a higher tone,x,x,x,x\n"
    )
    return root


def use(monkeypatch, embedder: FakeEmbedder) -> FakeEmbedder:
    monkeypatch.setattr(mmdemo.index, "load_embedder", lambda checkpoint, device: embedder)
    return embedder


def run(sounds, out, *extra) -> int:
    return main(["audio", "--audio", str(sounds), "--checkpoint", "ckpt", "--out", str(out), *extra])


def test_index_is_written_with_metadata_captions_and_a_skip_report(sounds, tmp_path, monkeypatch, capsys):
    use(monkeypatch, FakeEmbedder())
    out = tmp_path / "index"
    assert run(sounds, out) == 0
    index = VectorIndex.load(out)
    assert index.kind == "exact" and index.dim == 8
    assert index.ids == ["a", "b", "sub/c", "z"]
    assert [m["path"] for m in index.metadata] == GOOD
    assert [m["duration"] for m in index.metadata] == [0.25, 0.5, 0.75, 1.0]
    assert index.metadata[0]["caption"] == "a low hum" and index.metadata[2]["caption"] == "a higher tone"
    assert "caption" not in index.metadata[1]
    assert index.info["weights_sha256"] == "0" * 8 and index.info["checkpoint"] == "fake"
    assert [s["path"] for s in index.info["skipped"]] == ["broken.wav"]
    assert "cannot decode" in index.info["skipped"][0]["reason"]

    hit = index.search(vector_of((sounds / "sub/c.wav").read_bytes()), 1)[0][0]
    assert hit.id == "sub/c" and hit.score == pytest.approx(1.0, abs=1e-5)
    err = capsys.readouterr().err
    assert "indexed 4 clips" in err and "broken.wav: cannot decode" in err
    assert not (tmp_path / "index.partial").exists()


def test_no_embeddable_file_fails_clearly(tmp_path, monkeypatch, capsys):
    root = tmp_path / "bad"
    root.mkdir()
    (root / "x.wav").write_bytes(b"nope")
    (root / "y.mp3").write_bytes(b"nope")
    use(monkeypatch, FakeEmbedder())
    assert run(root, tmp_path / "index") == 2
    err = capsys.readouterr().err
    assert "none of the 2 audio files" in err and "x.wav: cannot decode" in err
    assert not (tmp_path / "index").exists() and not (tmp_path / "index.partial").exists()


def test_folder_without_audio_fails_clearly(tmp_path, monkeypatch, capsys):
    (tmp_path / "empty").mkdir()
    use(monkeypatch, FakeEmbedder())
    assert run(tmp_path / "empty", tmp_path / "index") == 2
    assert "no audio files" in capsys.readouterr().err


@pytest.mark.parametrize("batch", ["1", "2", "10"])
def test_an_interrupted_run_resumes_to_the_same_index(sounds, tmp_path, monkeypatch, batch):
    use(monkeypatch, FakeEmbedder())
    assert run(sounds, tmp_path / "whole", "--batch", batch) == 0

    first = use(monkeypatch, FakeEmbedder(interrupt_on_call=4))  # a.wav, b.wav, broken.wav, then Ctrl-C
    assert run(sounds, tmp_path / "resumed", "--batch", batch) == 130
    assert not (tmp_path / "resumed").exists() and (tmp_path / "resumed.partial").is_dir()
    second = use(monkeypatch, FakeEmbedder())
    assert run(sounds, tmp_path / "resumed", "--batch", batch) == 0
    assert first.calls == ["a.wav", "b.wav", "broken.wav", "c.wav"]
    assert second.calls == ["c.wav", "z.wav"]  # finished files are not embedded again
    assert not (tmp_path / "resumed.partial").exists()
    for name in (FAISS_FILE, JSON_FILE):
        assert (tmp_path / "resumed" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()


def test_a_run_with_other_settings_does_not_resume_someone_elses_staging(sounds, tmp_path, monkeypatch, capsys):
    use(monkeypatch, FakeEmbedder(interrupt_on_call=2))
    assert run(sounds, tmp_path / "index", "--batch", "1") == 130
    use(monkeypatch, FakeEmbedder(name="another checkpoint"))
    assert run(sounds, tmp_path / "index") == 2
    assert "unfinished run with other settings" in capsys.readouterr().err


def test_a_chunk_cut_short_by_a_kill_is_ignored(sounds, tmp_path, monkeypatch):
    use(monkeypatch, FakeEmbedder())
    assert run(sounds, tmp_path / "whole", "--batch", "2") == 0
    use(monkeypatch, FakeEmbedder(interrupt_on_call=4))
    assert run(sounds, tmp_path / "resumed", "--batch", "2") == 130
    staging = tmp_path / "resumed.partial"
    assert sorted(p.name for p in staging.glob("chunk-*")) == ["chunk-00000.json", "chunk-00000.npy", "chunk-00001.json"]
    (staging / "chunk-00002.npy").write_bytes(b"half a chunk")  # killed before its .json was renamed in
    (staging / "chunk-00002.json.tmp").write_text('{"paths": ["c.w')
    second = use(monkeypatch, FakeEmbedder())
    assert run(sounds, tmp_path / "resumed", "--batch", "2") == 0
    assert second.calls == ["c.wav", "z.wav"]
    for name in (FAISS_FILE, JSON_FILE):
        assert (tmp_path / "resumed" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
