"""The Training tab draws the bundled compare-init report, here one made by a tiny CPU run."""

from __future__ import annotations

import gradio as gr
import pytest

from mmdemo.compare_report import BUNDLED_REPORT
from mmdemo.config import Settings
from mmdemo.ui import build_app, training_report
from training.__main__ import main as train_main


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    assets = tmp_path_factory.mktemp("assets")
    train_main(["compare-init", "toy", "--data", str(assets), "--out", str(assets / BUNDLED_REPORT), "--epochs", "2",
                "--device", "cpu", "--set", "task.n_train=32", "--set", "task.n_val=16",
                "--set", "train.batch_size=16"])
    return assets


def components(settings: Settings) -> tuple[gr.Blocks, list[dict]]:
    with gr.Blocks() as demo:
        training_report.build_tab(settings)
    return demo, demo.get_config_file()["components"]


def test_tab_shows_the_report_curves_table_and_page(assets):
    demo, parts = components(Settings(assets_dir=assets))
    kinds = [c["type"] for c in parts]
    assert kinds.count("plot") == 2 and "file" in kinds
    status = next(c["props"]["value"] for c in parts if c["props"].get("elem_id") == "training-status")
    assert "Task toy" in status and "pretrained: best accuracy" in status and "scratch: best accuracy" in status
    table = next(c["props"] for c in parts if c["type"] == "dataframe")
    assert table["value"]["headers"][:3] == ["init", "epoch chosen", "epoch"]
    assert [row[:2] for row in table["value"]["data"]] == [["pretrained", "best"], ["pretrained", "final"],
                                                           ["scratch", "best"], ["scratch", "final"]]
    dropdown = next(c["props"] for c in parts if c["props"].get("elem_id") == "training-metric")
    assert dropdown["value"] == "accuracy" and [choice[0] for choice in dropdown["choices"]] == ["accuracy"]
    (redraw,) = [fn for fn in demo.fns.values() if fn.name == "<lambda>"]
    assert [t.name for t in redraw.fn("accuracy").data][:2] == ["pretrained", "pretrained · best"]


def test_tab_says_when_no_report_is_bundled(tmp_path):
    _, parts = components(Settings(assets_dir=tmp_path))
    status = next(c["props"]["value"] for c in parts if c["props"].get("elem_id") == "training-status")
    assert "No pretrained-vs-scratch report is bundled" in status and "compare-init" in status
    assert not [c for c in parts if c["type"] == "plot"]


def test_the_app_has_a_training_tab(assets):
    app = build_app(Settings(assets_dir=assets, warm_up=False))
    labels = [c.get("props", {}).get("label") for c in app.get_config_file()["components"]]
    assert "Training" in labels
