"""The "Scene" tab: which acoustic scene a clip shows, how sure each model is, and which rule decided."""

from __future__ import annotations


import gradio as gr

from mmdemo.errors import InputError
from mmdemo.pipelines.classify_scene import SceneClassifier, SceneResult
from mmdemo.ui.examples import add_video_examples
from mmdemo.ui.plots import scene_probabilities_figure

EXAMPLES_DIR = "scene_examples"  # example clips under assets/


def verdict_markdown(result: SceneResult) -> str:
    confidence = result.probabilities[result.label]
    lines = [f"### {result.label.replace('_', ' ')} ({confidence:.0%})", f"**Decided by:** {result.rule}"]
    lines += [f"*{model} model abstained:* {why}" for model, why in result.abstained.items()]
    return "\n\n".join(lines)


def frame_gallery(result: SceneResult) -> list[tuple]:
    return [(frame, f"{t:.1f} s") for frame, t in zip(result.frames, result.frame_times)]


def header_markdown(classifier: SceneClassifier) -> str:
    if not classifier.available():
        return f"No scene models are installed here (expected exports under {classifier.root})."
    info = classifier.describe()
    return (f"**Models:** {info['models']} · **Ensemble:** {info['ensemble']} · "
            f"**Checkpoints:** {info['checkpoints']} (the models load on the first clip)")


def build_tab(classifier: SceneClassifier) -> None:
    """Lay out the tab inside the current ``gr.Blocks`` and wire its events."""
    with gr.Tab("Scene"):
        gr.Markdown(header_markdown(classifier), elem_id="scene-status")
        with gr.Row():
            with gr.Column(scale=2):
                clip = gr.Video(label="A street, park or transit clip (about 10 s)", sources=["upload"],
                                elem_id="scene-clip")
                classify = gr.Button("Which scene is this?", variant="primary", elem_id="scene-submit")
                add_video_examples(classifier.settings.assets_dir / EXAMPLES_DIR, clip, "Example clips (held-out synthetic scenes)")
            with gr.Column(scale=3):
                verdict = gr.Markdown("Upload a clip to see which scene it is.", elem_id="scene-verdict")
                chart = gr.Plot(label="Confidence per class: each model and the ensemble")
        frames = gr.Gallery(label="Frames the video models saw", columns=6, height=220, elem_id="scene-frames")
        with gr.Accordion("API answer (JSON)", open=False):
            raw = gr.JSON(label="/classify_scene")

        def classify_scene(video, progress=gr.Progress()):
            try:
                result = classifier.run(video, progress=progress)
            except InputError as error:
                raise gr.Error(str(error), title="Please check your input", print_exception=False) from error
            return (result.to_json(), verdict_markdown(result),
                    scene_probabilities_figure(result.per_model, result.probabilities), frame_gallery(result))

        classify.click(classify_scene, inputs=[clip], outputs=[raw, verdict, chart, frames], api_name="classify_scene",
                       api_description="The acoustic scene of a clip, each model's confidence, and the deciding rule.")
