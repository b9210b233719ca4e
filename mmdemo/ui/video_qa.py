"""The "Medical video QA" tab: ask a question, get the video and the span that answer it.

The answer is shown in context: the whole video (when a browser plays it as it is) moved to the
answer's start, the span marked on a bar under it, and the video's transcript, which follows
playback and seeks on a click (``mmdemo.ui.answer_player``). Playing another answer updates the
player, the bar, the transcript, the plot and the answer line together.

The handlers only call the pipeline and format its ``LocateResult``; a person's result lives
in ``gr.State`` (one copy per session, expiring after ``Settings.session_ttl_seconds``), never in
module or closure variables. So do the subtitles recognised from an upload's speech, with the
person's corrections, which the next question on the same clip uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from mmdemo.media.subtitles import Caption, parse_rows
from mmdemo.pipelines.locate_answer import (AnswerLocator, LocateResult, Playback, ReaderAnswer, Subtitles,
                                            write_subtitle_files)
from mmdemo.ui.answer_player import CONTEXT_CSS, FOLLOW_PLAYBACK_JS, PLAYER_ELEM_ID, context_html
from mmdemo.ui.failures import shows_errors
from mmdemo.ui.model_card import add_model_card, qa_header
from mmdemo.ui.plots import span_matrix_figure, timeline_figure

EXAMPLES = [
    "How do I do a chin tuck for neck pain?",
    "How do I do the Epley maneuver for vertigo?",
    "How deep should chest compressions be in CPR?",
    "How long should I rub my hands when washing them?",
    "What should I do for a minor burn?",
    "How do I remove a tick?",
]
TABLE_HEADERS = ["#", "Video", "Start", "End", "P(right video)"]
SUBTITLE_TYPES = [".srt", ".vtt", ".json", ".txt"]
SPEECH_HEADERS = ["Start (s)", "End (s)", "Text"]
TOP_K_LIMIT = 10  # answers the slider offers (the pipeline allows more through the API)


def fmt_time(seconds: float) -> str:
    """1:05.3 style: minutes, seconds, one decimal (caption times are sub-second)."""
    minutes, rest = divmod(max(0.0, float(seconds)), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def span_text(start: float, end: float) -> str:
    return f"{fmt_time(start)} – {fmt_time(end)}"


def highlighted_transcript(captions: list[Caption], reading: ReaderAnswer | None) -> list[tuple[str, str | None]]:
    """The transcript as (line, label) pairs for gr.HighlightedText: the reader's answer lines labelled "answer"."""
    answer = set(reading.sentences) if reading else set()
    return [(f"[{fmt_time(c.start)}] {c.text}\n", "answer" if c in answer else None) for c in captions]


def answer_markdown(result: LocateResult, index: int = 0) -> str:
    """The answer line for candidate ``index`` (the best one unless another is being played)."""
    if result.no_answer:
        return f"### No answer in these videos\n{result.message}\n\n_The closest match is listed below, with its probability._"
    c = result.candidates[index]
    where = ("" if result.sources[c["video_id"]].media_path
             else "\n\n_No video was given, so there is nothing to play; the times refer to your subtitles._")
    rank = "" if index == 0 else f" (answer #{index + 1})"
    return (
        f"### {c['title']}{rank}\n"
        f"**Answer:** {span_text(c['start'], c['end'])} ({c['score']:.0%} likely to be the right video) "
        f"in `{c['video_id']}`{where}"
    )


def in_context(result: LocateResult, index: int, playback: Playback | None) -> str:
    """The span bar and the video's clickable transcript for candidate ``index``."""
    if result.no_answer:
        return ""
    c = result.candidates[index]
    source = result.sources[c["video_id"]]
    return context_html(source.captions, c["start"], c["end"], source.duration, playback.offset if playback else 0.0)


def speech_note(subtitles: Subtitles) -> str:
    edited = " (with your corrections)" if subtitles.source == "corrected" else ""
    return (f"_No subtitles came with this video: they were made by speech recognition{edited} "
            f"({subtitles.model}; language detected: **{subtitles.language}**, {subtitles.language_probability or 0:.0%} sure). "
            "Correct any line below: your edits are used for the next question on this clip._")


def speech_outputs(result: LocateResult | None) -> tuple:
    """The recognised-subtitles box: note, editable lines, SRT/VTT files, visibility, and the state to keep.

    Shown after the answer (a private follow-up event), so /locate_answer's outputs stay as they were.
    """
    subs = result.subtitles if result is not None else None
    if subs is None or not subs.recognised:
        return "", [], None, gr.Accordion(visible=False), None
    files = write_subtitle_files(subs.captions, result.video_id)
    return (speech_note(subs), [[c.start, c.end, c.text] for c in subs.captions], [str(f) for f in files],
            gr.Accordion(visible=True, open=True), subs)


def table_rows(result: LocateResult) -> list[list[Any]]:
    return [
        [i + 1, c["title"], fmt_time(c["start"]), fmt_time(c["end"]), f"{c['score']:.0%}"]
        for i, c in enumerate(result.candidates)
    ]


def candidate_choices(result: LocateResult) -> list[tuple[str, int]]:
    return [(f"{i + 1}. {c['title']}  {span_text(c['start'], c['end'])}", i) for i, c in enumerate(result.candidates)]


def playing_text(result: LocateResult, index: int) -> str:
    c = result.candidates[index]
    shown = "Playing" if result.sources[c["video_id"]].media_path else "No video for"
    return f"{shown} answer #{index + 1}: {c['title']}, {span_text(c['start'], c['end'])}"


def shown(result: LocateResult) -> tuple:
    """/locate_answer's outputs, in ``AnswerArea.answered`` order."""
    return (
        result.to_json(),
        answer_markdown(result),
        table_rows(result),
        str(result.playback.path) if result.playback else None,
        playing_text(result, 0),
        timeline_figure(result.timeline, result.title),
        in_context(result, 0, result.playback),
        span_matrix_figure(result.span_matrix, (result.start, result.end)),
        gr.Dropdown(choices=candidate_choices(result), value=0),
        highlighted_transcript(result.transcript, result.reading),
        result,
    )


def another_answer(result: LocateResult, index: int, playback: Playback | None, reading: ReaderAnswer | None) -> tuple:
    """Another answer of an earlier result, in ``AnswerArea.played`` order: everything that names the span moves."""
    c = result.candidates[index]
    return (str(playback.path) if playback else None, playing_text(result, index), answer_markdown(result, index),
            timeline_figure(result.timeline_of(index), c["title"]), in_context(result, index, playback),
            gr.Dropdown(value=index), highlighted_transcript(result.transcript_of(index), reading))


@dataclass
class QuestionArea:
    """The tab's inputs, laid out by ``question_area`` and wired by ``wire_events``."""

    question: gr.Textbox
    video: gr.Video
    subtitles: gr.File
    top_k: gr.Slider
    ask: gr.Button


@dataclass
class AnswerArea:
    """The tab's result components; ``answered`` and ``played`` are the two events' output lists."""

    raw: gr.JSON
    answer: gr.Markdown
    table: gr.Dataframe
    clip: gr.Video
    playing: gr.Markdown
    timeline: gr.Plot
    context: gr.HTML
    matrix: gr.Plot
    choice: gr.Dropdown
    reader: gr.HighlightedText
    play: gr.Button

    def answered(self, result_state: gr.State) -> list:
        return [self.raw, self.answer, self.table, self.clip, self.playing, self.timeline, self.context,
                self.matrix, self.choice, self.reader, result_state]

    def played(self) -> list:
        return [self.clip, self.playing, self.answer, self.timeline, self.context, self.choice, self.reader]


@dataclass
class SpeechArea:
    """The recognised-subtitles box: shown after an answer from speech, edited by the person."""

    box: gr.Accordion
    state: gr.State
    note: gr.Markdown
    lines: gr.Dataframe
    files: gr.File


def question_area() -> QuestionArea:
    """The question column: the question, an optional upload, how many answers, examples."""
    question = gr.Textbox(label="Question", placeholder="How do I do a chin tuck for neck pain?", max_lines=3,
                          elem_id="qa-question")
    with gr.Accordion("Your own video (optional; without one the demo corpus is searched)", open=False):
        video = gr.Video(label="Video", sources=["upload"], elem_id="qa-video")
        subtitles = gr.File(label="Subtitles (SRT, WebVTT or MedVidQA JSON; optional if the video has embedded ones)",
                            file_types=SUBTITLE_TYPES, type="filepath", elem_id="qa-subtitles")
    top_k = gr.Slider(1, TOP_K_LIMIT, value=5, step=1, label="Answers to list")
    ask = gr.Button("Find the answer", variant="primary", elem_id="qa-submit")
    gr.Examples(examples=[[q] for q in EXAMPLES], inputs=[question], label="Example questions")
    return QuestionArea(question, video, subtitles, top_k, ask)


def answer_column(locator: AnswerLocator) -> tuple[tuple, SpeechArea]:
    """The result column beside the question: (answer, clip, playing, context, timeline, matrix, reader),
    and the recognised-subtitles box."""
    ttl = locator.settings.session_ttl_seconds
    answer = gr.Markdown("Ask a question to see where a video answers it.", label="answer", elem_id="qa-answer")
    clip = gr.Video(label="answer video", show_label=False, interactive=False, autoplay=True, elem_id=PLAYER_ELEM_ID)
    playing = gr.Markdown(label="playing", elem_id="qa-playing")
    context = gr.HTML(label="answer in context (span bar and transcript; click a line to jump there)",
                      js_on_load=FOLLOW_PLAYBACK_JS, css_template=CONTEXT_CSS, elem_id="qa-context")
    timeline = gr.Plot(label="Caption relevance over time (answer shaded)", elem_id="qa-timeline")
    reader = gr.HighlightedText(label="The sentences that answer (span QA reader)", color_map={"answer": "green"},
                                visible=locator.span_qa_path().is_dir(), elem_id="qa-reader")
    matrix = gr.Plot(label="CCGS global-span matrix of this video (trained localizer only)",
                     visible=locator.ccgs_path().is_dir(), elem_id="qa-span-matrix")
    with gr.Accordion("Subtitles from speech recognition", visible=False, elem_id="qa-speech") as box:
        speech = SpeechArea(
            box, gr.State(None, time_to_live=ttl), gr.Markdown(elem_id="qa-speech-note"),
            gr.Dataframe(headers=SPEECH_HEADERS, datatype=["number", "number", "str"], type="array",
                         interactive=True, wrap=True, elem_id="qa-speech-lines",
                         label="Recognised lines (edit the text or the times)"),
            gr.File(label="Download as SRT or WebVTT", file_count="multiple", interactive=False,
                    elem_id="qa-speech-files"))
    return (answer, clip, playing, context, timeline, matrix, reader), speech


def answers_table() -> tuple[gr.Dataframe, gr.Dropdown, gr.Button, gr.JSON]:
    """Below the two columns: the table of answers, the player's choice, and the API answer."""
    with gr.Row():
        table = gr.Dataframe(headers=TABLE_HEADERS, label="Top answers (click a row to play it)",
                             interactive=False, wrap=True, scale=3, elem_id="qa-table")
        with gr.Column(scale=2):
            choice = gr.Dropdown(label="Play another answer", choices=[], type="value", elem_id="qa-choice")
            play = gr.Button("Play this answer", elem_id="qa-play")
    with gr.Accordion("API answer (JSON)", open=False):
        raw = gr.JSON(label="API answer (JSON)")
    return table, choice, play, raw


def build_tab(locator: AnswerLocator) -> None:
    """Lay out the tab inside the current ``gr.Blocks`` and wire its events."""
    with gr.Tab("Medical video QA"):
        facts = locator.describe()
        gr.Markdown(qa_header(facts, locator.settings.warm_up), elem_id="models-status")
        add_model_card(facts["models"], "qa-card")
        result_state = gr.State(None, time_to_live=locator.settings.session_ttl_seconds)
        with gr.Row():
            with gr.Column(scale=2):
                asked = question_area()
            with gr.Column(scale=3):
                (answer, clip, playing, context, timeline, matrix, reader), speech = answer_column(locator)
        table, choice, play, raw = answers_table()
        area = AnswerArea(raw, answer, table, clip, playing, timeline, context, matrix, choice, reader, play)
        wire_events(locator, asked, area, speech, result_state)


def wire_events(locator: AnswerLocator, asked: QuestionArea, area: AnswerArea, speech: SpeechArea,
                result_state: gr.State) -> None:
    """/locate_answer, then the private follow-ups: recognised subtitles, corrections, playing other answers."""

    def locate_answer(question, video=None, subtitles=None, top_k=5, recognised: Subtitles | None = None,
                      progress=gr.Progress()):
        return shown(locator.run(question, video_path=video or None, subtitle_path=subtitles or None,
                                 top_k=int(top_k), progress=progress, corrections=recognised))

    def correct_lines(rows, recognised: Subtitles | None):  # the person's edits, kept for the next question
        if recognised is None:
            return None, None
        corrected = recognised.corrected(parse_rows(rows or []))
        return corrected, [str(f) for f in write_subtitle_files(corrected.captions, "transcript")]

    def play_answer(result: LocateResult | None, index: int | None):  # per-session state in, the answer out
        if result is None:
            raise gr.Error("Ask a question first, then pick an answer to play.", title="Nothing to play yet")
        index = int(index or 0)
        playback = locator.play(result, index)
        return another_answer(result, index, playback, locator.read_answer(result.question, result.transcript_of(index)))

    def play_row(result: LocateResult | None, event: gr.SelectData):
        return play_answer(result, event.index[0])

    answered, played = area.answered(result_state), area.played()
    gr.on(
        triggers=[asked.ask.click, asked.question.submit],
        fn=shows_errors(locate_answer, answered, area.answer, clear=True),
        inputs=[asked.question, asked.video, asked.subtitles, asked.top_k, speech.state],
        outputs=answered,
        api_name="locate_answer",
        api_description="Find the video and time span that answer a medical question.",
    ).then(speech_outputs, inputs=[result_state], outputs=[speech.note, speech.lines, speech.files, speech.box, speech.state],
           api_visibility="private")
    speech.lines.input(shows_errors(correct_lines, title="Please check the transcript"),
                       inputs=[speech.lines, speech.state], outputs=[speech.state, speech.files], api_visibility="private")
    area.play.click(shows_errors(play_answer, played, area.playing), inputs=[result_state, area.choice], outputs=played,
                    api_visibility="private")
    area.table.select(shows_errors(play_row, played, area.playing), inputs=[result_state], outputs=played,
                      api_visibility="private")
