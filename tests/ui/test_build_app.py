"""build_app wires the tab and the queue without loading any model."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from mmdemo.config import REPO_ROOT, Settings
from mmdemo.pipelines.locate_answer import AnswerLocator
from mmdemo.ui import QUEUE_MAX_SIZE, build_app, launch_options


def test_build_app_is_cheap_and_exposes_locate_answer(monkeypatch):
    def refuse(self):
        raise AssertionError("build_app must not load models")

    monkeypatch.setattr(AnswerLocator, "encoder", refuse)
    monkeypatch.setattr(AnswerLocator, "corpus_index", refuse)
    demo = build_app(Settings(concurrency=3, warm_up=False))
    assert isinstance(demo, gr.Blocks)
    config = demo.get_config_file()
    endpoints = [d for d in config["dependencies"] if d.get("api_name") == "locate_answer"]
    assert len(endpoints) == 1
    first_output = next(c for c in config["components"] if c["id"] == endpoints[0]["outputs"][0])
    assert first_output["type"] == "json"
    assert demo._queue.max_size == QUEUE_MAX_SIZE
    assert demo._queue.default_concurrency_limit == 3


def test_header_names_models_and_data():
    demo = build_app(Settings(warm_up=False))
    props = [c.get("props", {}) for c in demo.get_config_file()["components"]]
    texts = " ".join(str(p.get("value", "")) for p in props)
    assert "all-MiniLM-L6-v2" in texts and "bundled demo videos" in texts
    assert "Medical video QA" in [p.get("label") for p in props]


def test_launch_options_follow_settings():
    options = launch_options(Settings())
    assert options["max_file_size"] == "500mb"
    assert isinstance(options["theme"], gr.themes.Base)


def test_nothing_in_the_page_names_a_server_path():
    """Headers and the Training tab name models and data; the server's layout stays private (issue 12)."""
    config = json.dumps(build_app(Settings(warm_up=False)).get_config_file(), default=str)
    for place in {str(REPO_ROOT), "/work", str(Path.home())} - {"/"}:
        assert place not in config
