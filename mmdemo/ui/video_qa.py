"""The "Medical video QA" tab: ask a question, get the video and the span that answer it.

The handlers only call the pipeline and format its ``LocateResult``; a person's result lives
in ``gr.State`` (one copy per session, expiring after ``Settings.session_ttl_seconds``), never in
module or closure variables. So do the subtitles recognised from an upload's speech, with the
person's corrections, which the next question on the same clip uses.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from mmdemo.errors import InputError
from mmdemo.media.subtitles import Caption, parse_rows
from mmdemo.pipelines.locate_answer import AnswerLocator, LocateResult, ReaderAnswer, Subtitles, write_subtitle_files
from mmdemo.ui.failures import shows_errors
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


def fmt_time(seconds: float) -> str:
    """1:05.3 style: minutes, seconds, one decimal (caption times are sub-second)."""
    minutes, rest = divmod(max(0.0, float(seconds)), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def span_text(start: float, end: float) -> str:
    return f"{fmt_time(start)} – {fmt_time(end)}"


def transcript_text(captions: list[Caption]) -> str:
    return "\n".join(f"[{fmt_time(c.start)}] {c.text}" for c in captions)


def highlighted_transcript(captions: list[Caption], reading: ReaderAnswer | None) -> list[tuple[str, str | None]]:
    """The transcript as (line, label) pairs for gr.HighlightedText: the reader's answer lines labelled "answer"."""
    answer = set(reading.sentences) if reading else set()
    return [(f"[{fmt_time(c.start)}] {c.text}\n", "answer" if c in answer else None) for c in captions]


def answer_markdown(result: LocateResult) -> str:
    if result.no_answer:
        return f"### No answer in these videos\n{result.message}\n\n_The closest match is listed below, with its probability._"
    where = "" if result.clip_path else "\n\n_No video was given, so there is no clip; the times refer to your subtitles._"
    return (
        f"### {result.title}\n"
        f"**Answer:** {span_text(result.start, result.end)} ({result.score:.0%} likely to be the right video) "
        f"in `{result.video_id}`{where}"
    )


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


def build_tab(locator: AnswerLocator) -> None:
    """Lay out the tab inside the current ``gr.Blocks`` and wire its events."""
    top_k_limit = 10
    with gr.Tab("Medical video QA"):
        result_state = gr.State(None, time_to_live=locator.settings.session_ttl_seconds)
        with gr.Row():
            with gr.Column(scale=2):
                question = gr.Textbox(
                    label="Question",
                    placeholder="How do I do a chin tuck for neck pain?",
                    max_lines=3,
                    elem_id="qa-question",
                )
                with gr.Accordion("Your own video (optional; without one the demo corpus is searched)", open=False):
                    video = gr.Video(label="Video", sources=["upload"], elem_id="qa-video")
                    subtitles = gr.File(
                        label="Subtitles (SRT, WebVTT or MedVidQA JSON; optional if the video has embedded ones)",
                        file_types=SUBTITLE_TYPES,
                        type="filepath",
                        elem_id="qa-subtitles",
                    )
                top_k = gr.Slider(1, top_k_limit, value=5, step=1, label="Answers to list")
                ask = gr.Button("Find the answer", variant="primary", elem_id="qa-submit")
                gr.Examples(examples=[[q] for q in EXAMPLES], inputs=[question], label="Example questions")
            with gr.Column(scale=3):
                answer = gr.Markdown("Ask a question to see where a video answers it.", label="answer", elem_id="qa-answer")
                clip = gr.Video(label="Answer clip", interactive=False, autoplay=True, elem_id="qa-clip")
                playing = gr.Markdown(label="playing", elem_id="qa-playing")
                timeline = gr.Plot(label="Caption relevance over time (answer shaded)")
                transcript = gr.Textbox(label="Transcript of the answer", lines=6, interactive=False)
                reader = gr.HighlightedText(label="The sentences that answer (span QA reader)", color_map={"answer": "green"},
                                            visible=locator.span_qa_path().is_dir(), elem_id="qa-reader")
                matrix = gr.Plot(label="CCGS global-span matrix of this video (trained localizer only)",
                                 visible=locator.ccgs_path().is_dir(), elem_id="qa-span-matrix")
                with gr.Accordion("Subtitles from speech recognition", visible=False, elem_id="qa-speech") as speech_box:
                    speech_state = gr.State(None, time_to_live=locator.settings.session_ttl_seconds)
                    note = gr.Markdown(elem_id="qa-speech-note")
                    speech_lines = gr.Dataframe(headers=SPEECH_HEADERS, datatype=["number", "number", "str"], type="array",
                                                interactive=True, wrap=True, elem_id="qa-speech-lines",
                                                label="Recognised lines (edit the text or the times)")
                    speech_files = gr.File(label="Download as SRT or WebVTT", file_count="multiple", interactive=False,
                                           elem_id="qa-speech-files")
        with gr.Row():
            table = gr.Dataframe(
                headers=TABLE_HEADERS, label="Top answers (click a row to play it)", interactive=False, wrap=True, scale=3,
                elem_id="qa-table",
            )
            with gr.Column(scale=2):
                choice = gr.Dropdown(label="Play another answer", choices=[], type="value", elem_id="qa-choice")
                play = gr.Button("Play this answer", elem_id="qa-play")
        with gr.Accordion("API answer (JSON)", open=False):
            raw = gr.JSON(label="/locate_answer")

        def locate_answer(question, video, subtitles, top_k, recognised: Subtitles | None, progress=gr.Progress()):
            result = locator.run(
                question,
                video_path=video or None,
                subtitle_path=subtitles or None,
                top_k=int(top_k),
                progress=progress,
                corrections=recognised,
            )
            return (
                result.to_json(),
                answer_markdown(result),
                table_rows(result),
                str(result.clip_path) if result.clip_path else None,
                playing_text(result, 0),
                timeline_figure(result.timeline, result.title),
                transcript_text(result.transcript),
                span_matrix_figure(result.span_matrix, (result.start, result.end)),
                gr.Dropdown(choices=candidate_choices(result), value=0),
                highlighted_transcript(result.transcript, result.reading),
                result,
            )

        def correct_lines(rows, recognised: Subtitles | None):  # the person's edits, kept for the next question
            if recognised is None:
                return None, None
            try:
                corrected = recognised.corrected(parse_rows(rows or []))
            except InputError as error:
                raise gr.Error(str(error), title="Please check the transcript", print_exception=False) from error
            return corrected, [str(f) for f in write_subtitle_files(corrected.captions, "transcript")]

        def play_answer(result: LocateResult | None, index: int | None):  # per-session state in, clip out
            if result is None:
                raise gr.Error("Ask a question first, then pick an answer to play.", title="Nothing to play yet")
            index = int(index or 0)
            path = locator.play(result, index)
            captions = result.transcript_of(index)
            reading = locator.read_answer(result.question, captions)
            clip_file = str(path) if path else None
            return (clip_file, playing_text(result, index), transcript_text(captions), gr.Dropdown(value=index),
                    highlighted_transcript(captions, reading))

        def play_row(result: LocateResult | None, event: gr.SelectData):
            return play_answer(result, event.index[0])

        answered = [raw, answer, table, clip, playing, timeline, transcript, matrix, choice, reader, result_state]
        played = [clip, playing, transcript, choice, reader]
        gr.on(
            triggers=[ask.click, question.submit],
            fn=shows_errors(locate_answer, answered, answer),
            inputs=[question, video, subtitles, top_k, speech_state],
            outputs=answered,
            api_name="locate_answer",
            api_description="Find the video and time span that answer a medical question.",
        ).then(speech_outputs, inputs=[result_state], outputs=[note, speech_lines, speech_files, speech_box, speech_state],
               api_visibility="private")
        speech_lines.input(correct_lines, inputs=[speech_lines, speech_state], outputs=[speech_state, speech_files],
                           api_visibility="private")
        play.click(shows_errors(play_answer, played, playing), inputs=[result_state, choice], outputs=played,
                   api_visibility="private")
        table.select(shows_errors(play_row, played, playing), inputs=[result_state], outputs=played,
                     api_visibility="private")
