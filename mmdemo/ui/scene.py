"""The "Scene" tab: which acoustic scene a clip shows, how sure each model is, and which rule decided.

With "Show segmentation" ticked, the frames the video models saw are also shown with their
pixels coloured by Cityscapes class (``mmdemo.pipelines.segment_frames``). That is a second
event after ``/classify_scene``, whose inputs and outputs stay as they are; the frames pass
between the two in the person's own ``gr.State``, which expires after ``Settings.session_ttl_seconds``.
"""

from __future__ import annotations

import gradio as gr
import numpy as np

from mmdemo.pipelines.classify_scene import SceneClassifier, SceneResult
from mmdemo.pipelines.segment_frames import FrameSegmenter, SegmentationResult
from mmdemo.ui.examples import add_video_examples
from mmdemo.ui.failures import shows_errors
from mmdemo.ui.model_card import add_model_card, load_note
from mmdemo.ui.plots import overlay, scene_probabilities_figure

EXAMPLES_DIR = "scene_examples"  # example clips under assets/
TRAINING_NOTE = ("*What the models know:* all three were trained on synthetic scenes only (generated clips of "
                 "coloured shapes with synthetic sounds, 18 per class). The fusion model reads ImageNet "
                 "features (EfficientNet-Lite0), so it sees real images as real, but it never saw a real scene "
                 "labelled; on real footage (the real-vtest example) read the label as a guess. A silent or "
                 "missing audio track is said as such: the audio model abstains.")
SEGMENTATION_LABEL = "Segmentation of those frames (Cityscapes classes)"


def verdict_markdown(result: SceneResult) -> str:
    confidence = result.probabilities[result.label]
    lines = [f"### {result.label.replace('_', ' ')} ({confidence:.0%})", f"**Decided by:** {result.rule}"]
    lines += [f"*{model} model abstained:* {why}" for model, why in result.abstained.items()]
    return "\n\n".join(lines)


def frame_gallery(result: SceneResult) -> list[tuple]:
    return [(frame, f"{t:.1f} s") for frame, t in zip(result.frames, result.frame_times)]


def segmentation_gallery(result: SegmentationResult, frame_times: list[float]) -> list[tuple]:
    """Each overlay captioned with its time and its three largest classes."""
    captions = [f"{t:.1f} s · " + ", ".join(f"{name} {share:.0%}" for name, share in list(shares.items())[:3])
                for t, shares in zip(frame_times, result.shares)]
    return list(zip(overlay(result.frames, result.labels), captions))


def header_markdown(classifier: SceneClassifier) -> str:
    if not classifier.available():
        return f"No scene models are installed here (expected exports in a checkpoint folder {classifier.root.name})."
    facts = classifier.describe()
    ensemble = ("class-wise selection fitted on val" if facts["ensemble_fitted"]
                else "no ensemble.json: no class-wise selection")
    return (f"**Models:** {', '.join(card.name for card in facts['models'])} · **Ensemble:** {ensemble} · "
            f"**Checkpoints:** {classifier.root.name}{load_note(classifier.settings.warm_up)}\n\n{TRAINING_NOTE}")


def build_tab(classifier: SceneClassifier, segmenter: FrameSegmenter | None = None) -> None:
    """Lay out the tab inside the current ``gr.Blocks`` and wire its events.

    ``segmenter`` defaults to the export under the same checkpoint root as the scene models.
    """
    segmenter = segmenter or FrameSegmenter.load(classifier.settings)
    with gr.Tab("Scene"):
        gr.Markdown(header_markdown(classifier), elem_id="scene-status")
        add_model_card(classifier.describe()["models"] + segmenter.describe()["models"], "scene-card")
        with gr.Row():
            with gr.Column(scale=2):
                clip = gr.Video(label="A street, park or transit clip (about 10 s)", sources=["upload"],
                                elem_id="scene-clip")
                classify = gr.Button("Which scene is this?", variant="primary", elem_id="scene-submit")
                add_video_examples(classifier.settings.assets_dir / EXAMPLES_DIR, clip, "Example clips (held-out synthetic scenes; real-vtest: real footage)")
            with gr.Column(scale=3):
                verdict = gr.Markdown("Upload a clip to see which scene it is.", label="verdict", elem_id="scene-verdict")
                chart = gr.Plot(label="Confidence per class: each model and the ensemble")
        frames = gr.Gallery(label="Frames the video models saw", columns=6, height=220, elem_id="scene-frames")
        show_segmentation, segmentation = segmentation_controls(segmenter)
        # this person's last classified frames and their times, for the segmentation; about 1 MB, so it expires
        seen = gr.State(time_to_live=classifier.settings.session_ttl_seconds)
        with gr.Accordion("API answer (JSON)", open=False):
            raw = gr.JSON(label="API answer (JSON)")

        def classify_scene(video, progress=gr.Progress()):
            result = classifier.run(video, progress=progress)
            return (result.to_json(), verdict_markdown(result),
                    scene_probabilities_figure(result.per_model, result.probabilities), frame_gallery(result),
                    (result.frames, result.frame_times))

        def segment_frames(shown, wanted):
            if not wanted:
                return gr.Gallery(value=None, visible=False)
            if shown is None:
                return gr.Gallery(value=None, visible=True, label="Classify a clip to see its frames segmented")
            frames, times = shown
            if not len(frames):
                return gr.Gallery(value=None, visible=True, label="This clip has no video frames to segment")
            result = segmenter.run(np.asarray(frames))
            return gr.Gallery(value=segmentation_gallery(result, times), visible=True, label=SEGMENTATION_LABEL)

        classified = classify.click(
            shows_errors(classify_scene, [raw, verdict, chart, frames, seen], verdict), inputs=[clip],
            outputs=[raw, verdict, chart, frames, seen], api_name="classify_scene",
            api_description="The acoustic scene of a clip, each model's confidence, and the deciding rule.")
        segment = shows_errors(segment_frames, title="Cannot segment these frames")
        for event in (classified.success, show_segmentation.change):
            event(segment, inputs=[seen, show_segmentation], outputs=[segmentation], api_visibility="private")


def segmentation_controls(segmenter: FrameSegmenter) -> tuple[gr.Checkbox, gr.Gallery]:
    """The "Show segmentation" box (greyed out, saying why, without a model) and its hidden gallery."""
    show = gr.Checkbox(
        False, label="Show segmentation", elem_id="scene-show-segmentation", interactive=segmenter.available(),
        info="Colour those frames by Cityscapes class (road, car, person, ...)" if segmenter.available()
        else f"No segmentation model is installed (expected a checkpoint folder {segmenter.root.name}).")
    gallery = gr.Gallery(label=SEGMENTATION_LABEL, columns=6, height=220, visible=False, elem_id="scene-segmentation")
    return show, gallery
