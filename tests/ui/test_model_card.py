"""Each tab's header and model card: its own models and data, by name, with their figures (issue 17)."""

from __future__ import annotations

import pytest

from mmdemo.config import Settings
from mmdemo.pipelines.base import ModelCard
from mmdemo.pipelines.caption_video import VideoCaptioner
from mmdemo.pipelines.classify_scene import SceneClassifier
from mmdemo.pipelines.search_audio import AudioSearch
from mmdemo.ui import audio_search, build_app, captioning, scene
from mmdemo.ui.model_card import card_rows, figures, qa_header


def tab_texts(config: dict) -> dict[str, str]:
    """Tab label -> the text of every component inside that tab."""
    components = {c["id"]: c for c in config["components"]}

    def texts(node: dict) -> list[str]:
        props = components.get(node["id"], {}).get("props", {})
        own = [str(props.get("value") or "")]
        return own + [t for child in node.get("children", []) for t in texts(child)]

    found = {}

    def walk(node: dict) -> None:
        component = components.get(node["id"], {})
        if component.get("type") == "tabitem":
            found[component["props"]["label"]] = " ".join(texts(node))
            return
        for child in node.get("children", []):
            walk(child)

    walk(config["layout"])
    return found


def test_the_qa_header_is_on_the_qa_tab_only_and_each_tab_has_its_own_card():
    tabs = tab_texts(build_app(Settings(warm_up=False)).get_config_file())
    assert "Text encoder:" in tabs["Medical video QA"] and "bundled demo videos" in tabs["Medical video QA"]
    for other in ("Audio search", "Scene", "Captioning", "Training"):
        assert "Text encoder:" not in tabs[other] and "bundled demo videos" not in tabs[other]
    assert "t2a_mAP@10 75.5" in tabs["Audio search"] and "synth_audio" in tabs["Audio search"]
    assert "CIDEr 60.0" in tabs["Captioning"] and "t2a_mAP" not in tabs["Captioning"]
    assert "mIoU 41.1" in tabs["Scene"] and "accuracy 80.0" in tabs["Scene"]  # the segmenter lives on the Scene tab
    assert "span_qa" in tabs["Medical video QA"] and "f1 53.3" in tabs["Medical video QA"]


@pytest.mark.parametrize("warm_up", [True, False])
def test_headers_say_first_use_only_when_nothing_loads_at_start(warm_up):
    settings = Settings(warm_up=warm_up)
    headers = [audio_search.header_markdown(AudioSearch(settings)), scene.header_markdown(SceneClassifier(settings)),
               captioning.header_markdown(VideoCaptioner(settings))]
    from mmdemo.pipelines.locate_answer import AnswerLocator

    headers.append(qa_header(AnswerLocator(settings).describe(), warm_up))
    assert all(("first use" in header) is not warm_up for header in headers)
    assert all("first clip" not in header for header in headers)


def test_a_card_leads_with_the_selection_metric_and_hides_losses():
    card = ModelCard("scene", "scene classification", "scenes", "scratch",
                     {"loss": 0.1, "log_loss": 0.4, "accuracy": 75.0, "caption_loss": 1.0}, "accuracy")
    assert figures(card) == "accuracy 75.0, log_loss 0.4"
    table = card_rows([card])
    assert "| scene | scene classification | scenes (from scratch) | accuracy 75.0, log_loss 0.4 |" in table
    assert "No trained model" in card_rows([]) and figures(ModelCard("bare")) == "not measured"


def test_a_broken_optional_export_is_named_in_the_qa_header():
    facts = {"text_encoder": "all-MiniLM-L6-v2 (bundled)", "retrieval": "hybrid", "localizer": "zero-shot",
             "reader": True, "models": [], "corpus": {"videos": 2, "minutes": 1.5},
             "disabled": {"span_qa": "model.safetensors is not a valid safetensors file"}, "device": "cpu"}
    header = qa_header(facts, warm_up=True)
    assert "span_qa is turned off because its export does not load (model.safetensors" in header
    assert "2 bundled demo videos (1.5 min)" in header
