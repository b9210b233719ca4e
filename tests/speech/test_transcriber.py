"""Speech recognition on real and synthetic speech: accuracy, timing, windows, refusals, cache."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mmdemo.config import REPO_ROOT
from mmdemo.errors import InputError
from mmdemo.metrics import word_error_rate
from mmdemo.speech.transcriber import Transcriber, TranscriberConfig

JFK = REPO_ROOT.parent / "shared" / "data" / "speech" / "jfk.flac"  # shared/ sits beside the repo
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."

pytestmark = pytest.mark.slow


def test_real_speech_word_error_rate_under_ten_percent(transcriber):
    transcript = transcriber.transcribe(JFK)
    text = " ".join(c.text for c in transcript.captions)
    assert word_error_rate(text, JFK_TEXT) < 10.0, text
    assert transcript.language == "en" and transcript.language_probability > 0.5
    assert transcript.duration == pytest.approx(11.0, abs=0.1)
    assert " ".join(w.text.strip() for w in transcript.words) == text


def test_lines_follow_the_narrated_sentences_within_a_second(transcriber, narrated, narration):
    lines = transcriber.transcribe(narrated).captions
    starts, ends = [c.start for c in lines], [c.end for c in lines]
    for start, end in zip(narration.starts, narration.ends):
        assert min(abs(start - s) for s in starts) < 1.0, (start, lines)
        assert min(abs(end - e) for e in ends) < 1.0, (end, lines)
    text = " ".join(c.text for c in lines)
    assert word_error_rate(text, " ".join(narration.sentences)) < 20.0, text


def test_windows_neither_lose_nor_repeat_words(narrated, narration, transcriber):
    whole = transcriber.transcribe(narrated)
    windowed = Transcriber(config=replace(TranscriberConfig(), window_seconds=15.0))
    windowed._model = transcriber.model()  # the same loaded model, read in 15 s windows
    shares = []
    pieces = windowed.transcribe(narrated, progress=shares.append)
    assert word_error_rate(" ".join(c.text for c in pieces.captions), " ".join(c.text for c in whole.captions)) < 5.0
    starts = [w.start for w in pieces.words]
    assert starts == sorted(starts)
    assert shares == sorted(shares) and shares[-1] == 1.0 and len(shares) > 3


def test_a_second_request_for_the_same_bytes_is_served_from_the_cache(transcriber, narrated, tmp_path, monkeypatch):
    first = transcriber.transcribe(narrated)
    copy = tmp_path / "renamed upload.mp4"
    copy.write_bytes(narrated.read_bytes())
    monkeypatch.setattr(transcriber, "_recognise", lambda *a: pytest.fail("transcribed the same file twice"))
    assert transcriber.transcribe(copy) is first


@pytest.mark.parametrize("name, message", [
    ("silence", "No speech was found in 'silence.mp4'"),
    ("music", "No speech was found in 'music.mp4'.*music"),
    ("no-audio", "'no-audio.mp4' has no audio track"),
])
def test_clips_without_speech_get_a_clear_message(transcriber, speechless, name, message):
    with pytest.raises(InputError, match=message):
        transcriber.transcribe(speechless[name])


def test_audio_over_the_transcription_limit(narrated, monkeypatch):
    short = Transcriber(max_seconds=30.0)
    monkeypatch.setattr(short, "model", lambda: pytest.fail("loaded a model for a clip that is refused"))
    with pytest.raises(InputError, match="speech recognition takes up to 0.5 min"):
        short.transcribe(narrated)
