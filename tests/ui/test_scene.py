"""The Scene tab's segmentation option: off by default, outside /classify_scene's API, captions per frame."""

from __future__ import annotations

import gradio as gr
import numpy as np

from mmdemo.config import Settings
from mmdemo.pipelines.classify_scene import SceneClassifier
from mmdemo.pipelines.segment_frames import FrameSegmenter, SegmentationResult
from mmdemo.ui import scene


def build(segmenter: FrameSegmenter) -> dict:
    with gr.Blocks() as demo:
        scene.build_tab(SceneClassifier(Settings()), segmenter)
    return demo.get_config_file()


def component(config: dict, elem_id: str) -> dict:
    return next(c for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)


def test_the_option_is_off_and_classify_scene_keeps_its_one_input_and_json_answer(tmp_path):
    installed = tmp_path / "segmentation"
    installed.mkdir()
    config = build(FrameSegmenter.from_dir(installed))
    checkbox, gallery = component(config, "scene-show-segmentation"), component(config, "scene-segmentation")
    assert checkbox["props"]["value"] is False and checkbox["props"]["interactive"] is True
    assert gallery["props"]["visible"] is False
    classify = next(d for d in config["dependencies"] if d.get("api_name") == "classify_scene")
    assert classify["inputs"] == [component(config, "scene-clip")["id"]]
    first = next(c for c in config["components"] if c["id"] == classify["outputs"][0])
    assert first["type"] == "json"
    overlays = [d for d in config["dependencies"] if gallery["id"] in d["outputs"]]
    assert len(overlays) == 2 and all(d["api_visibility"] == "private" for d in overlays)


def test_without_a_model_the_option_says_so_and_cannot_be_ticked(tmp_path):
    checkbox = component(build(FrameSegmenter.from_dir(tmp_path / "absent")), "scene-show-segmentation")
    assert checkbox["props"]["interactive"] is False and "No segmentation model" in checkbox["props"]["info"]


def test_overlays_are_captioned_with_time_and_largest_classes():
    frames = np.zeros((2, 4, 4, 3), np.uint8)
    shares = [{"road": 0.5, "sky": 0.25, "car": 0.15, "person": 0.1}, {"building": 1.0}]
    gallery = scene.segmentation_gallery(SegmentationResult(np.zeros((2, 4, 4), np.uint8), frames, shares), [0.4, 1.3])
    assert [image.tolist() for image, _ in gallery][0][0][0] == [64, 32, 64]  # road's colour blended in
    assert [caption for _, caption in gallery] == ["0.4 s · road 50%, sky 25%, car 15%", "1.3 s · building 100%"]
