"""The demo corpus generator and the committed corpus it produced."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmdemo.config import REPO_ROOT
from mmdemo.media.audio import load_audio
from mmdemo.media.subtitles import Caption, extract_embedded, load_subtitles, parse_srt, to_srt
from mmdemo.media.video import probe, read_frames
from training.data.demo_corpus import (
    FPS,
    HEIGHT,
    SCRIPTS,
    WIDTH,
    ClipScript,
    clip_duration,
    render_clip,
    script_captions,
)

CORPUS = REPO_ROOT / "assets" / "corpus"
TINY = ClipScript("tiny", "Tiny test clip", "An intro line.", ("Do the one step.",), "Be careful.", (0, 128, 0))


def _same_captions(a: list[Caption], b: list[Caption], tol: float = 0.01) -> bool:
    return len(a) == len(b) and all(
        x.text == y.text and abs(x.start - y.start) <= tol and abs(x.end - y.end) <= tol for x, y in zip(a, b)
    )


def test_scripts_read_like_instructional_videos():
    assert len(SCRIPTS) >= 12
    assert len({s.video_id for s in SCRIPTS}) == len(SCRIPTS)
    for script in SCRIPTS:
        captions = script_captions(script)
        assert 6 <= len(captions) <= 10, script.video_id
        assert all(2.0 - 1e-6 <= c.end - c.start <= 4.0 + 1e-6 for c in captions), script.video_id
        assert all(a.end == b.start for a, b in zip(captions, captions[1:])), "captions are back to back"
        assert 20.0 <= clip_duration(script) <= 40.0, script.video_id


def test_srt_text_parses_back_to_the_captions():
    captions = script_captions(SCRIPTS[0])
    assert _same_captions(parse_srt(to_srt(captions)), captions, tol=0.001)


@pytest.mark.slow
def test_rendered_clip_has_video_audio_and_captions(tmp_path):
    script = min(SCRIPTS, key=clip_duration)
    entry = render_clip(script, tmp_path)
    mp4, srt = tmp_path / entry["file"], tmp_path / entry["subtitles"]
    info = probe(mp4)
    assert info.has_video and info.has_audio
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height, info.fps) == (WIDTH, HEIGHT, FPS)
    assert abs(info.duration - clip_duration(script)) < 0.15
    assert [s.codec for s in info.subtitle_streams] == ["mov_text"]
    captions = script_captions(script)
    assert _same_captions(load_subtitles(srt), captions)
    assert _same_captions(extract_embedded(mp4), captions)
    audio = load_audio(mp4, 16000)
    assert abs(len(audio) / 16000 - clip_duration(script)) < 0.15
    assert float(np.sqrt(np.mean(audio**2))) > 1e-3, "the audio track must not be silent"
    frames, _ = read_frames(mp4, fps=1)
    assert not np.array_equal(frames[0], frames[-1]), "title card and last slide differ"


@pytest.mark.slow
def test_rendering_is_deterministic(tmp_path):
    first = render_clip(TINY, tmp_path / "a")
    second = render_clip(TINY, tmp_path / "b")
    assert (tmp_path / "a" / first["file"]).read_bytes() == (tmp_path / "b" / second["file"]).read_bytes()


def test_committed_corpus_matches_its_manifest():
    entries = json.loads((CORPUS / "corpus.json").read_text(encoding="utf-8"))
    ids = [e["video_id"] for e in entries]
    assert len(ids) >= 12 and len(set(ids)) == len(ids)
    assert ids == [s.video_id for s in SCRIPTS], "regenerate: python -m training.data.demo_corpus --out assets/corpus"
    listed = {e["file"] for e in entries} | {e["subtitles"] for e in entries} | {"corpus.json"}
    assert {p.name for p in CORPUS.iterdir()} == listed
    total = sum(p.stat().st_size for p in CORPUS.iterdir())
    assert total < 40e6
    for entry, script in zip(entries, SCRIPTS):
        assert entry["duration"] == clip_duration(script)
        assert _same_captions(load_subtitles(CORPUS / entry["subtitles"]), script_captions(script))
        assert abs(probe(CORPUS / entry["file"]).duration - entry["duration"]) < 0.15
    manifest = (REPO_ROOT / "assets" / "MANIFEST").read_text(encoding="utf-8")
    assert "assets/corpus/*  python -m training.data.demo_corpus --out assets/corpus" in manifest
