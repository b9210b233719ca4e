"""The "Captioning" tab: a caption for a clip, and the MELTR panel of how training weighted its losses."""

from __future__ import annotations

import gradio as gr

from mmdemo.pipelines.caption_video import EXAMPLES_DIR, MAX_BEAM, CaptionResult, VideoCaptioner
from mmdemo.ui.examples import add_video_examples
from mmdemo.ui.failures import shows_errors
from mmdemo.ui.model_card import add_model_card, load_note
from mmdemo.ui.plots import meltr_curves_figure, meltr_weights_figure

BEAM_HEADERS = ["#", "caption", "score"]


def caption_markdown(result: CaptionResult) -> str:
    mode = "video and transcript" if result.mode == "V+T" else "video only"
    heard = (f"\n\n_Transcript from speech recognition (language: {result.language}): {result.transcript}_"
             if result.transcript_source == "speech" else "")
    return f"### {result.caption}\n\nFrom the {mode}: {result.frames} frames of {result.seconds:.1f} s.{heard}"


def beam_rows(result: CaptionResult) -> list[list]:
    return [[i + 1, b["caption"], round(b["score"], 3)] for i, b in enumerate(result.beams)]


def header_markdown(captioner: VideoCaptioner) -> str:
    if not captioner.available():
        return f"No captioning model is installed here (expected a checkpoint folder {captioner.root.name})."
    facts = captioner.describe()
    card = facts["models"][0]
    what = f" ({card.note})" if card.note else ""
    return (f"**Model:** {card.name}{what}, its losses combined by **{facts['combiner']}**"
            f"{load_note(captioner.settings.warm_up)}")


def build_tab(captioner: VideoCaptioner) -> None:
    """Lay out the tab inside the current ``gr.Blocks`` and wire its events."""
    with gr.Tab("Captioning"):
        gr.Markdown(header_markdown(captioner), elem_id="caption-status")
        add_model_card(captioner.describe()["models"], "caption-card")
        with gr.Row():
            with gr.Column(scale=2):
                clip = gr.Video(label="A short clip", sources=["upload"], elem_id="caption-clip")
                transcript = gr.Textbox(label="Transcript (optional: what is said in the clip; V+T mode; left empty, it is recognised from the speech)", lines=2,
                                        elem_id="caption-transcript")
                beam = gr.Slider(1, MAX_BEAM, value=1, step=1, label="Beam size (1 = greedy)")
                run = gr.Button("Caption this clip", variant="primary", elem_id="caption-submit")
                add_video_examples(captioner.settings.assets_dir / EXAMPLES_DIR, clip, "Example clips")
            with gr.Column(scale=3):
                caption = gr.Markdown("Upload a clip to caption it.", label="caption", elem_id="caption-text")
                beams = gr.Dataframe(headers=BEAM_HEADERS, label="Beams, best first", interactive=False, wrap=True)
                with gr.Accordion("API answer (JSON)", open=False):
                    raw = gr.JSON(label="API answer (JSON)")
        with gr.Accordion("MELTR: how training weighted each loss", open=False, elem_id="meltr-panel"):
            show = gr.Button("Show the loss weights of the installed captioner", elem_id="meltr-show")
            with gr.Row():
                weights_plot = gr.Plot(label="Weight of each loss per epoch (MELTR Figure 4)")
                curves_plot = gr.Plot(label="How MELTR bends each loss (MELTR Figure 3)")
            meltr_raw = gr.JSON(label="MELTR record (JSON)")

        def caption_video(video, transcript=None, beam=1, progress=gr.Progress()):
            result = captioner.run(video, transcript, int(beam), progress=progress)
            return result.to_json(), caption_markdown(result), beam_rows(result)

        def meltr_weights():
            record = captioner.meltr_weights()
            return (record.to_json(), meltr_weights_figure(record.epochs, record.tasks, record.weights),
                    meltr_curves_figure(record.tasks, record.curves))

        run.click(shows_errors(caption_video, [raw, caption, beams], caption), inputs=[clip, transcript, beam], outputs=[raw, caption, beams], api_name="caption_video",
                  api_description="A caption for a clip (greedy or beam search), with the other beams.")
        show.click(shows_errors(meltr_weights, title="Nothing to show"), inputs=None,
                   outputs=[meltr_raw, weights_plot, curves_plot], api_name="meltr_weights",
                   api_description="Per-epoch weights MELTR gave each training loss, from the installed captioner.")
