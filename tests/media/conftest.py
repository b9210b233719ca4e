"""Small media files made with the bundled ffmpeg, once per test session.

Video: testsrc2 160x120 at 10 fps for 3 s; audio: a 440 Hz sine (lavfi amplitude 1/8, so
RMS = 0.125 / sqrt(2) ~ 0.088). Each fixture builds its file on first use only.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mmdemo.media.ffmpeg import ffmpeg_exe

SRT = (
    "1\n00:00:00,500 --> 00:00:01,500\nHello <i>world</i>\n\n"
    "2\n00:00:01,600 --> 00:00:02,500\nSecond line\n"
)
VIDEO = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=3"]
SINE = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=3"]
H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
H264_AAC = [*VIDEO, *SINE, *H264, "-c:a", "aac", "-shortest"]  # the common case, in any container


def ffmpeg(*args: str | Path) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *map(str, args)],
                   check=True, timeout=60)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def mp4(media_dir) -> Path:
    path = media_dir / "h264_aac.mp4"
    ffmpeg(*H264_AAC, path)
    return path


@pytest.fixture(scope="session")
def webm(media_dir) -> Path:
    path = media_dir / "vp9_opus.webm"
    ffmpeg(*VIDEO, *SINE, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
           "-b:v", "200k", "-c:a", "libopus", "-shortest", path)
    return path


@pytest.fixture(scope="session")
def webm_no_duration(media_dir) -> Path:
    """WebM written to a pipe has no duration in its header, like browser recordings."""
    path = media_dir / "streamed.webm"
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *VIDEO, "-c:v", "libvpx-vp9",
                          "-deadline", "realtime", "-cpu-used", "8", "-f", "webm", "-"],
                         check=True, capture_output=True, timeout=60).stdout
    path.write_bytes(out)
    return path


@pytest.fixture(scope="session")
def mov(media_dir) -> Path:
    path = media_dir / "clip.mov"
    ffmpeg(*H264_AAC, path)
    return path


@pytest.fixture(scope="session")
def silent_mp4(media_dir) -> Path:
    path = media_dir / "no_audio.mp4"
    ffmpeg(*VIDEO, *H264, path)
    return path


@pytest.fixture(scope="session")
def rotated_mp4(silent_mp4, media_dir) -> Path:
    """Phone-style file: 160x120 pixels stored, shown rotated by 90 degrees."""
    path = media_dir / "rotated.mp4"
    ffmpeg("-display_rotation", "90", "-i", silent_mp4, "-c", "copy", path)
    return path


@pytest.fixture(scope="session")
def m4a(media_dir) -> Path:
    path = media_dir / "audio.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050:duration=2", "-c:a", "aac", path)
    return path


@pytest.fixture(scope="session")
def wav(media_dir) -> Path:
    path = media_dir / "audio.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=2", path)
    return path


@pytest.fixture(scope="session")
def png_as_mp4(media_dir) -> Path:
    path = media_dir / "picture.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", "-f", "image2", "-c:v", "png", path)
    return path


@pytest.fixture(scope="session")
def corrupt(media_dir) -> Path:
    path = media_dir / "corrupt.mp4"
    path.write_bytes(bytes(range(256)) * 20)
    return path


@pytest.fixture(scope="session")
def empty(media_dir) -> Path:
    path = media_dir / "empty.mp4"
    path.write_bytes(b"")
    return path


@pytest.fixture(scope="session")
def text_as_mp4(media_dir) -> Path:
    path = media_dir / "notes.mp4"
    path.write_text("These are my notes, not a video.\n")
    return path


@pytest.fixture(scope="session")
def srt_file(media_dir) -> Path:
    path = media_dir / "source.srt"
    path.write_text(SRT)
    return path


@pytest.fixture(scope="session")
def mp4_with_subs(mp4, srt_file, media_dir) -> Path:
    path = media_dir / "subs.mp4"
    ffmpeg("-i", mp4, "-i", srt_file, "-map", "0", "-map", "1", "-c:v", "copy", "-c:a", "copy",
           "-c:s", "mov_text", "-metadata:s:s:0", "language=eng", path)
    return path


@pytest.fixture(scope="session")
def mkv_with_subs(mp4, srt_file, media_dir) -> Path:
    path = media_dir / "subs.mkv"
    ffmpeg("-i", mp4, "-i", srt_file, "-map", "0", "-map", "1", "-c:v", "copy", "-c:a", "copy",
           "-c:s", "srt", "-metadata:s:s:0", "language=fre", path)
    return path


@pytest.fixture(scope="session")
def mp4_20s_faststart(media_dir) -> Path:
    """20 s with the index (moov) first, so a copy cut short still has a complete header."""
    path = media_dir / "twenty_seconds.mp4"
    ffmpeg(*[a.replace("duration=3", "duration=20") for a in H264_AAC], "-movflags", "+faststart", path)
    return path
