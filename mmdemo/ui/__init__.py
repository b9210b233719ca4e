"""The web app: one ``gr.Blocks`` with a tab per capability, all reading one ``Settings``.

``build_app`` is cheap: pipelines are created here and load their models lazily, so the server is
up in seconds; with ``Settings.warm_up`` a background thread then loads every tab's models
(``mmdemo.ui.warmup``) so that the first click does not wait for them. Pipelines hold only read-only models; per-user data is in gr.State, and
every session (its State and the outputs gradio keeps for it) is forgotten once idle for
``Settings.session_ttl_seconds`` (``mmdemo.ui.sessions``); uploads and outputs are deleted from
the cache after an hour (``delete_cache``).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from mmdemo.config import Settings
from mmdemo.pipelines.caption_video import VideoCaptioner
from mmdemo.pipelines.classify_scene import SceneClassifier
from mmdemo.pipelines.base import Pipeline
from mmdemo.pipelines.locate_answer import AnswerLocator
from mmdemo.pipelines.search_audio import AudioSearch
from mmdemo.pipelines.segment_frames import FrameSegmenter
from mmdemo.ui import audio_search, captioning, scene, training_report, video_qa
from mmdemo.ui.sessions import session_expiry
from mmdemo.ui.warmup import Warmup, add_status_line

TITLE = "mmdemo · multimodal video understanding"
QUEUE_MAX_SIZE = 64  # waiting requests beyond this are refused with "queue full" instead of piling up
CACHE_SWEEP = (3600, 3600)  # every hour, delete uploaded and generated files older than an hour


def warmup_steps(tabs: list[tuple[str, Pipeline]]) -> list[tuple[str, Any]]:
    """Each tab's ``warm_up``, the default tab first; pipelines with nothing installed are left out."""
    return [(name, pipeline.warm_up) for name, pipeline in tabs if pipeline.available()]


def build_app(settings: Settings) -> gr.Blocks:
    locator = AnswerLocator.load(settings)
    sounds = AudioSearch.load(settings)
    scenes = SceneClassifier.load(settings)
    segmenter = FrameSegmenter.load(settings)
    captioner = VideoCaptioner.load(settings)
    tabs = [("Medical video QA", locator), ("Audio search", sounds), ("Scene", scenes),
            ("Segmentation", segmenter), ("Captioning", captioner)]
    warmup = Warmup(warmup_steps(tabs)).start() if settings.warm_up else None
    with gr.Blocks(title=TITLE, delete_cache=CACHE_SWEEP) as demo:
        gr.Markdown(
            f"# {TITLE}\n**Medical video QA:** ask a health question; the app finds the instructional video "
            "and the part of it that answers, opens the video at that part with its transcript under it, and shows why it was chosen (not medical advice). "
            "**Audio search:** describe a sound, or play one, and hear the closest sounds in a collection. "
            "**Scene:** upload a street, park or transit clip and see which scene it is and why. "
            "**Captioning:** a caption for a clip, and how MELTR weighted the captioner's training losses."
        )
        add_status_line(warmup)
        with gr.Tabs():
            video_qa.build_tab(locator)
            audio_search.build_tab(sounds)
            scene.build_tab(scenes, segmenter)
            captioning.build_tab(captioner)
            training_report.build_tab(settings)
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=QUEUE_MAX_SIZE)
    return demo


def launch_options(settings: Settings) -> dict[str, Any]:
    """``launch()`` keyword arguments that follow from the settings (gradio 6 takes the theme here)."""
    return {
        "theme": gr.themes.Soft(),
        "max_file_size": f"{settings.limits.max_upload_mb:g}mb",
        "show_error": True,
        # bundled models' notes and the demo corpus's videos are served straight from there
        "allowed_paths": [str(settings.assets_dir), str(settings.corpus_dir)],
        "app_kwargs": {"lifespan": session_expiry(settings.session_ttl_seconds)},
    }
