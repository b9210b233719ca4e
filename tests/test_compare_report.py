"""The compare-init report: read strictly, drawn as the paper's curves and table."""

from __future__ import annotations

import json

import pytest

from mmdemo.compare_report import (
    COLOURS,
    ReportError,
    describe,
    load_report,
    loss_figure,
    metric_figure,
    report_from_dict,
    report_html,
    summary_table,
)


def run(init: str, f1: list[float], val_loss: list[float]) -> dict:
    epochs = list(range(1, len(f1) + 1))
    best = max(epochs, key=lambda e: (f1[e - 1], -e))
    return {"init": init, "run_dir": init, "status": "finished", "epochs": epochs,
            "train_loss": [2.0 / e for e in epochs],
            "val_epochs": epochs, "val": {"f1": f1, "loss": val_loss},
            "best": {"epoch": best, "metrics": {"f1": f1[best - 1], "loss": val_loss[best - 1]}},
            "final": {"epoch": epochs[-1], "metrics": {"f1": f1[-1], "loss": val_loss[-1]}}, "wall_seconds": 12.0}


REPORT = {"task": "extractive-qa", "selection_metric": "f1", "selection_mode": "max", "val_loss": "loss",
          "pretrained": run("pretrained", [80.0, 88.3, 88.8], [1.2, 1.1, 1.15]),
          "scratch": run("scratch", [15.0, 20.7, 19.8], [4.5, 4.2, 4.4]),
          "epochs": 3, "seed": 0, "data": "/data/squad", "command": "python -m training compare-init extractive-qa ...",
          "date": "2026-01-01T00:00:00+00:00"}


def test_figures_draw_both_runs_in_their_colours():
    report = report_from_dict(REPORT)
    losses = loss_figure(report)
    assert [t.name for t in losses.data] == ["pretrained · train", "pretrained · validation",
                                             "scratch · train", "scratch · validation"]
    assert list(losses.data[3].y) == [4.5, 4.2, 4.4] and losses.data[3].line.dash == "dash"
    assert losses.data[2].line.color == COLOURS["scratch"]
    f1 = metric_figure(report)
    curves = [t for t in f1.data if not t.name.endswith("best")]
    circles = [t for t in f1.data if t.name.endswith("best")]
    assert [list(t.y) for t in curves] == [[80.0, 88.3, 88.8], [15.0, 20.7, 19.8]]
    assert [(list(t.x), list(t.y)) for t in circles] == [([3], [88.8]), ([2], [20.7])]
    assert len(metric_figure(report, "loss").data) == 2  # no best circles for a metric that did not select


def test_table_has_the_best_and_final_epoch_of_each_run():
    headers, rows = summary_table(report_from_dict(REPORT))
    assert headers == ["init", "epoch chosen", "epoch", "f1", "loss"]
    assert rows == [["pretrained", "best", 3, 88.8, 1.15], ["pretrained", "final", 3, 88.8, 1.15],
                    ["scratch", "best", 2, 20.7, 4.2], ["scratch", "final", 3, 19.8, 4.4]]


def test_description_and_page_say_what_was_compared():
    report = report_from_dict(REPORT)
    text = " ".join(describe(report))
    assert "seed 0" in text and "3 epochs" in text and "best f1 20.7 at epoch 2" in text
    page = report_html(report)
    assert page.startswith("<!DOCTYPE html>") and "Plotly.newPlot" in page and "<script src=" not in page
    assert page.count('class="plotly-graph-div"') == 2 and "<td>scratch</td><td>best</td><td>2</td>" in page


def test_missing_or_malformed_reports_are_clear(tmp_path):
    with pytest.raises(ReportError, match="No compare-init report"):
        load_report(tmp_path)
    bad = {**REPORT, "scratch": {**REPORT["scratch"], "train_loss": [1.0]}}
    (tmp_path / "report.json").write_text(json.dumps(bad))
    with pytest.raises(ReportError, match="3 epochs but 1 train losses"):
        load_report(tmp_path)
    (tmp_path / "report.json").write_text(json.dumps({k: v for k, v in REPORT.items() if k != "seed"}))
    with pytest.raises(ReportError, match="seed"):
        load_report(tmp_path / "report.json")
