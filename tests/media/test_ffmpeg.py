from __future__ import annotations

import os

import pytest

from mmdemo.errors import InputError
from mmdemo.media.ffmpeg import ALLOWED_DEMUXERS, ffmpeg_exe, input_args, run_ffmpeg, summarize_stderr


def test_ffmpeg_exe_is_the_bundled_binary():
    exe = ffmpeg_exe()
    assert "imageio_ffmpeg" in exe and os.access(exe, os.X_OK)


def test_run_ffmpeg_returns_stdout_bytes():
    # 0.1 s of 8 kHz mono float32 silence = 800 samples * 4 bytes.
    out = run_ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "0.1", "-f", "f32le", "-"])
    assert len(out) == 800 * 4


def test_run_ffmpeg_failure_is_a_readable_input_error(tmp_path):
    with pytest.raises(InputError, match="ffmpeg could not process the file: .*No such file"):
        run_ffmpeg([*input_args(tmp_path / "missing.mp4"), "-f", "null", "-"])


def test_run_ffmpeg_timeout_is_an_input_error():
    with pytest.raises(InputError, match="longer than 0 seconds"):
        run_ffmpeg(["-re", "-f", "lavfi", "-i", "anullsrc", "-t", "10", "-f", "null", "-"], timeout=0.3)


def test_input_args_keep_odd_names_literal(tmp_path):
    args = input_args(tmp_path / "-a:b.mp4")
    assert args[-2] == "-i" and args[-1] == f"file:{tmp_path / '-a:b.mp4'}"
    assert args[args.index("-protocol_whitelist") + 1] == "file"
    assert args[args.index("-format_whitelist") + 1].split(",") == list(ALLOWED_DEMUXERS)


def test_output_past_the_limit_kills_ffmpeg():
    with pytest.raises(InputError, match="more than 0 MB"):  # 10 s of 8 kHz float32 = 320 kB
        run_ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "10", "-f", "f32le", "-"], max_output=4000)


def test_summarize_stderr_drops_addresses_and_progress():
    stderr = (
        "[in#0 @ 0x5635d54e0040] moov atom not found\r\n"
        "frame=   30 fps=0.0 q=-1.0\n"
        "[in#0 @ 0x5635d54dfcc0] Error opening input: Invalid data found when processing input\n"
    )
    assert summarize_stderr(stderr) == (
        "moov atom not found; Error opening input: Invalid data found when processing input"
    )
