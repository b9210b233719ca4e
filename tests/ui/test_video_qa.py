"""Formatting of a LocateResult for the "Medical video QA" tab (no models needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmdemo.media.subtitles import Caption
from mmdemo.pipelines.locate_answer import LocateResult, Playback, ReaderAnswer, Source
from mmdemo.ui import video_qa


def result(clip: Path | None = Path("/tmp/answer.mp4")) -> LocateResult:
    candidates = [
        {"video_id": "chin", "title": "Chin tuck", "start": 2.0, "end": 28.3, "score": 1.0},
        {"video_id": "burn", "title": "Minor burn", "start": 65.5, "end": 80.0, "score": 0.42},
    ]
    chin = (Caption(2.0, 6.0, "Sit tall."), Caption(6.0, 28.3, "Tuck your chin."))
    burn = (Caption(60.0, 65.5, "Cool the burn."), Caption(65.5, 80.0, "Run it under <cool> water."))
    return LocateResult(
        question="How do I do a chin tuck?", video_id="chin", title="Chin tuck", start=2.0, end=28.3, score=1.0,
        candidates=candidates, transcript=[chin[0]], playback=Playback(clip) if clip else None,
        media_path=clip, models={},
        sources={"chin": Source(clip, chin, {"times": [4.0, 17.0], "texts": ["Sit tall.", "Tuck your chin."],
                                             "scores": [0.9, 1.0]}, 30.0),
                 "burn": Source(None, burn, {"times": [62.7, 72.7], "texts": ["Cool the burn.", "Run it"],
                                             "scores": [0.2, 0.4]}, 80.0)},
    )


@pytest.mark.parametrize("seconds, text", [(0, "0:00.0"), (2.04, "0:02.0"), (65.5, "1:05.5"), (3600, "60:00.0"), (-1, "0:00.0")])
def test_fmt_time(seconds, text):
    assert video_qa.fmt_time(seconds) == text


def test_answer_names_the_video_and_the_span():
    text = video_qa.answer_markdown(result())
    assert "Chin tuck" in text and "0:02.0 – 0:28.3" in text and "100% likely" in text
    assert "nothing to play" in video_qa.answer_markdown(result(clip=None))


def test_a_refused_question_shows_a_message_not_a_span():
    refused = result()
    refused.no_answer, refused.score, refused.refuse_below = True, 0.03, 0.2
    text = video_qa.answer_markdown(refused)
    assert text.startswith("### No answer in these videos") and "0:02.0 – 0:28.3" not in text


def test_table_and_choices_list_every_candidate_in_order():
    rows = video_qa.table_rows(result())
    assert rows == [[1, "Chin tuck", "0:02.0", "0:28.3", "100%"], [2, "Minor burn", "1:05.5", "1:20.0", "42%"]]
    assert len(rows[0]) == len(video_qa.TABLE_HEADERS)
    assert video_qa.candidate_choices(result()) == [("1. Chin tuck  0:02.0 – 0:28.3", 0), ("2. Minor burn  1:05.5 – 1:20.0", 1)]


def test_another_answer_moves_the_answer_line_plot_and_transcript_together():
    shown = result()
    clip, playing, answer, plot, context, choice, reader = video_qa.another_answer(shown, 1, None, None)
    assert clip is None and playing.startswith("No video for answer #2")
    assert "Minor burn (answer #2)" in answer and "1:05.5 – 1:20.0" in answer and "42% likely" in answer
    assert "in `burn`" in answer and "Chin tuck" not in answer
    shaded = [shape for shape in plot.layout.shapes if shape.x0 == 65.5]
    assert shaded and shaded[0].x1 == 80.0 and list(plot.data[0].x) == [62.7, 72.7]  # the burn video's curve
    assert 'data-start="65.500"' in context and "Cool the burn." in context and "Sit tall." not in context
    assert "Run it under &lt;cool&gt; water." in context  # subtitles are text, never markup
    assert choice.value == 1 and [label for _, label in reader] == [None]


def test_the_timeline_of_each_answer_shades_its_span_and_its_videos_others():
    shown = result()
    shown.candidates.append({"video_id": "chin", "title": "Chin tuck", "start": 40.0, "end": 45.0, "score": 0.2})
    assert shown.timeline == {**shown.sources["chin"].relevance, "span": [2.0, 28.3], "others": [[40.0, 45.0]]}
    assert shown.timeline_of(1)["span"] == [65.5, 80.0] and shown.timeline_of(1)["others"] == []
    assert shown.timeline_of(2)["others"] == [[2.0, 28.3]]


def test_a_cut_clip_is_placed_in_the_source_videos_time():
    context = video_qa.in_context(result(), 0, Playback(Path("/tmp/cut.mp4"), offset=2.0))
    assert 'data-offset="2.000"' in context and 'data-start="2.000" data-end="28.300"' in context


def test_playing_text_says_what_plays_or_that_there_is_no_video():
    assert video_qa.playing_text(result(), 0) == "Playing answer #1: Chin tuck, 0:02.0 – 0:28.3"
    assert video_qa.playing_text(result(), 1).startswith("No video for answer #2: Minor burn")


def test_highlighted_transcript_labels_the_readers_sentences():
    captions = [Caption(2.0, 6.0, "Sit tall."), Caption(6.0, 9.0, "Tuck your chin."), Caption(9.0, 12.0, "Hold it.")]
    reading = ReaderAnswer("Tuck your chin. Hold", (captions[1], captions[2]))
    assert video_qa.highlighted_transcript(captions, reading) == [
        ("[0:02.0] Sit tall.\n", None), ("[0:06.0] Tuck your chin.\n", "answer"), ("[0:09.0] Hold it.\n", "answer")]
    assert [label for _, label in video_qa.highlighted_transcript(captions, None)] == [None, None, None]


def test_api_json_carries_the_readers_answer():
    payload = result().to_json()
    assert payload["answer_text"] is None and payload["answer_sentences"] == []  # no reader installed
    with_reader = result()
    with_reader.reading = ReaderAnswer("Sit tall", (Caption(2.0, 6.0, "Sit tall."),))
    payload = with_reader.to_json()
    assert payload["answer_text"] == "Sit tall"
    assert payload["answer_sentences"] == [{"start": 2.0, "end": 6.0, "text": "Sit tall."}]
    assert {"video_id", "start", "end", "score", "candidates", "models"} <= set(payload)  # the contract stays


def test_recognised_subtitles_are_shown_editable_and_downloadable():
    from mmdemo.media.subtitles import parse_srt, parse_vtt
    from mmdemo.pipelines.locate_answer import Subtitles

    lines = (Caption(0.5, 2.0, "Sit tall."), Caption(2.5, 4.0, "Tuck your chin."))
    heard = result()
    heard.subtitles = Subtitles("speech", lines, "ab" * 32, "en", 0.97, "Whisper base (bundled, CTranslate2)")
    note, rows, files, _, kept = video_qa.speech_outputs(heard)
    assert "speech recognition" in note and "**en**" in note and "97%" in note
    assert rows == [[0.5, 2.0, "Sit tall."], [2.5, 4.0, "Tuck your chin."]]
    srt, vtt = (Path(f) for f in files)
    assert parse_srt(srt.read_text()) == list(lines) and parse_vtt(vtt.read_text()) == list(lines)
    assert kept is heard.subtitles
    assert "with your corrections" in video_qa.speech_note(kept.corrected([Caption(0.5, 2.0, "Sit up tall.")]))
    assert kept.corrected(list(lines)) is kept  # nothing edited: still the recognised subtitles
    assert heard.to_json()["subtitles"]["source"] == "speech"
    assert result().to_json()["subtitles"] == {"source": "corpus"}
    assert video_qa.speech_outputs(result())[4] is None  # corpus answers show no recognised subtitles
