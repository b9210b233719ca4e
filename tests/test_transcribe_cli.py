"""python -m mmdemo.transcribe: subtitles of real speech on stdout, clear errors on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mmdemo.config import REPO_ROOT
from mmdemo.media.subtitles import parse_srt, parse_vtt
from mmdemo.metrics import word_error_rate

JFK = REPO_ROOT.parent / "shared" / "data" / "speech" / "jfk.flac"  # shared/ sits beside the repo
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def transcribe(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "mmdemo.transcribe", *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=env, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["srt", "vtt", "json"])
def test_prints_the_transcript_in_each_format(fmt):
    run = transcribe(str(JFK), "--format", fmt)
    assert run.returncode == 0, run.stderr
    if fmt == "json":
        payload = json.loads(run.stdout)
        assert payload["language"] == "en"
        text = " ".join(c["text"] for c in payload["captions"])
    else:
        text = " ".join(c.text for c in (parse_srt if fmt == "srt" else parse_vtt)(run.stdout))
    assert word_error_rate(text, JFK_TEXT) < 10.0
    assert "language: en" in run.stderr


def test_a_model_id_offline_fails_with_a_clear_message():
    run = transcribe(str(JFK), "--asr-model", "Systran/faster-whisper-small")
    assert run.returncode == 2 and run.stdout == ""
    assert "needs internet" in run.stderr and "Traceback" not in run.stderr


def test_a_file_that_is_not_media_fails_with_a_clear_message(tmp_path):
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video\n" * 20)
    run = transcribe(str(notes))
    assert run.returncode == 2 and "error: Could not read 'notes.mp4'" in run.stderr
