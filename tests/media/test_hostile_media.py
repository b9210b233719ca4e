"""Uploads that are instructions rather than media (tests/conftest.py makes them) are
refused quickly by every media reader, and the server file they name is never opened."""

from __future__ import annotations

import time

import pytest

from mmdemo.config import Limits
from mmdemo.errors import InputError
from mmdemo.media.audio import load_audio
from mmdemo.media.video import probe, read_frames, validate_upload

REFUSED = "not in a media format the server reads|no video or audio stream|not a video or audio file"
HOSTILE_NAMES = ["hls.m3u8", "hls-renamed.mp4", "live.m3u8", "dash-renamed.mp4", "manifest.mpd",
                 "concat.ffconcat", "concat.txt", "playlist-in.avi", "frames-%03d.png"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("reader", ["probe", "frames", "audio", "upload"])
def test_files_that_name_other_files_are_refused_fast_and_never_followed(hostile_uploads, name, reader):
    upload, never_opened = hostile_uploads[name], hostile_uploads.never_opened
    started = time.monotonic()
    with pytest.raises(InputError, match=REFUSED):
        if reader == "probe":
            probe(upload)
        elif reader == "frames":
            read_frames(upload, fps=1)
        elif reader == "audio":
            load_audio(upload)
        else:
            validate_upload(upload, Limits())
    assert time.monotonic() - started < 10  # the ffmpeg time limit is 30 s or more
    assert never_opened()


def test_the_refusal_names_the_formats_that_are_read(hostile_uploads):
    with pytest.raises(InputError) as error:
        probe(hostile_uploads["hls.m3u8"])
    assert "MP4" in str(error.value) and "Playlists" in str(error.value)


def test_allowed_containers_still_read(mp4, webm, m4a):
    assert [round(probe(path).duration) for path in (mp4, webm, m4a)] == [3, 3, 2]


def test_a_truncated_mp4_is_refused_not_answered(tmp_path, mp4_20s_faststart):
    whole = mp4_20s_faststart
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # the header (moov first) survives, half the media doesn't
    assert probe(cut).duration == pytest.approx(20.0, abs=0.2)
    with pytest.raises(InputError, match="damaged.*cut short"):
        read_frames(cut, fps=1)
    with pytest.raises(InputError, match="damaged.*cut short"):
        load_audio(cut)
    assert len(read_frames(whole, fps=1)[0]) == 20
