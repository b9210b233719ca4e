"""The "Captioning" tab: a caption for a clip, and the MELTR panel of how training weighted its losses."""

from __future__ import annotations

import gradio as gr

from mmdemo.errors import InputError
from mmdemo.pipelines.caption_video import EXAMPLES_DIR, MAX_BEAM, CaptionResult, VideoCaptioner
from mmdemo.ui.examples import add_video_examples
from mmdemo.ui.failures import shows_errors
from mmdemo.ui.model_card import add_model_card, load_note
from mmdemo.ui.plots import meltr_curves_figure, meltr_weights_figure

BEAM_HEADERS = ["#", "caption", "score"]
# What each of the captioner's training losses asks of it (mmdemo.models.captioner.LOSS_NAMES; MELTR 3.1).
LOSS_MEANINGS = {
    "caption": "write the reference caption, word by word (the loss captioning is judged on)",
    "joint": "the clip's and the caption's own features point the same way (contrastive)",
    "align": "the cross encoder tells a clip's own caption from other clips' captions",
    "cmlm": "conditioned masked language model: guess hidden caption words from the clip and the rest of the caption",
    "cmfm": "conditioned masked frame model: guess hidden frames' features from the caption and the other frames",
    "caption_masked": "write the caption while some frames are hidden",
    "joint_masked": "joint, with words and frames hidden",
    "align_masked": "align, with words and frames hidden",
}


def losses_markdown(tasks: list[str]) -> str:
    """One line per loss the panel plots: its name as the plots show it, and what it trains."""
    return "\n".join(f"- **{task}**: {LOSS_MEANINGS.get(task, 'a training loss')}" for task in tasks)


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
        shown = meltr_panel(captioner)
        with gr.Accordion("MELTR: how training weighted each loss", open=True, elem_id="meltr-panel"):
            with gr.Row():
                weights_plot = gr.Plot(shown[1], label="Weight of each loss per epoch (MELTR Figure 4)",
                                       elem_id="meltr-weights")
                curves_plot = gr.Plot(shown[2], label="How MELTR bends each loss (MELTR Figure 3)", elem_id="meltr-curves")
            gr.Markdown(shown[3], elem_id="meltr-losses")
            with gr.Accordion("MELTR record (JSON)", open=False):
                meltr_raw = gr.JSON(shown[0], label="MELTR record (JSON)")
            show = gr.Button("Reload from the installed captioner", size="sm", elem_id="meltr-show")

        def caption_video(video, transcript=None, beam=1, progress=gr.Progress()):
            result = captioner.run(video, transcript, int(beam), progress=progress)
            return result.to_json(), caption_markdown(result), beam_rows(result)

        def meltr_weights():
            return meltr_outputs(captioner)

        run.click(shows_errors(caption_video, [raw, caption, beams], caption), inputs=[clip, transcript, beam], outputs=[raw, caption, beams], api_name="caption_video",
                  api_description="A caption for a clip (greedy or beam search), with the other beams.")
        show.click(shows_errors(meltr_weights, title="Nothing to show"), inputs=None,
                   outputs=[meltr_raw, weights_plot, curves_plot], api_name="meltr_weights",
                   api_description="Per-epoch weights MELTR gave each training loss, from the installed captioner.")


def meltr_outputs(captioner: VideoCaptioner) -> tuple:
    """/meltr_weights: the record as JSON, Figure 4 (weights per epoch) and Figure 3 (MELTR's curves)."""
    record = captioner.meltr_weights()
    return (record.to_json(), meltr_weights_figure(record.epochs, record.tasks, record.weights),
            meltr_curves_figure(record.tasks, record.curves))


def meltr_panel(captioner: VideoCaptioner) -> tuple:
    """The panel as the page opens (record, two figures, the losses spelled out), or why it is empty.

    Only the export's meta.json is read, so this costs nothing at start-up.
    """
    try:
        record, weights, curves = meltr_outputs(captioner)
    except InputError as error:
        return None, None, None, f"_{error}_"
    return record, weights, curves, "**The losses**\n\n" + losses_markdown(record["tasks"])
