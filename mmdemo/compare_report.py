"""A pretrained-vs-scratch report: one task trained twice, from pretrained weights and from
scratch, on the same data with the same seed, config and budget (``python -m training compare-init``).

``report.json`` holds, per init, the mean training loss of every epoch, the validation metrics
of every evaluated epoch, the best epoch (by the task's selection metric) and the final one,
and the wall time. This module reads it back and draws it: the loss curves and the metric
curves (the paper's Figures 4-6 in kind), the best-and-final table (its Table 5 in kind), and
one self-contained HTML page with plotly.js inside, so the page opens offline. The trainer
writes the files; the app's Training tab shows the same figures; neither computes anything here.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from mmdemo.config_dicts import ConfigError, from_dict
from mmdemo.errors import InputError
from mmdemo.names import without_dirs

FORMAT_VERSION = 1
REPORT_FILE = "report.json"
HTML_FILE = "report.html"
BUNDLED_REPORT = Path("reports") / "compare_init_extractive_qa"  # under Settings.assets_dir
INITS = ("pretrained", "scratch")
COLOURS = {"pretrained": "#2563eb", "scratch": "#ea580c"}


class ReportError(InputError):
    """A report file that cannot be read; the message says why."""


@dataclass
class Evaluation:
    epoch: int  # epochs trained when evaluated (1-based)
    metrics: dict[str, float]


@dataclass
class InitRun:
    """One of the two runs, as its metrics log recorded it."""

    init: str  # "pretrained" | "scratch"
    run_dir: str  # the run's folder, relative to the report's
    status: str  # the trainer's: "finished", or "stopped" part-way (train.stop_after_steps)
    epochs: list[int]  # completed epochs, 1-based
    train_loss: list[float]  # per completed epoch: the mean of its optimizer steps' losses
    val_epochs: list[int]  # the evaluated epochs, 1-based
    val: dict[str, list[float]]  # validation metric -> its value at each of val_epochs
    best: Evaluation | None  # the epoch the trainer exported as best (None: never evaluated)
    final: Evaluation | None  # the last evaluated epoch
    wall_seconds: float  # building, training and evaluating, summed over the invocations that returned

    def __post_init__(self) -> None:
        if len(self.train_loss) != len(self.epochs):
            raise ValueError(f"{self.init}: {len(self.epochs)} epochs but {len(self.train_loss)} train losses")
        wrong = [name for name, values in self.val.items() if len(values) != len(self.val_epochs)]
        if wrong:
            raise ValueError(f"{self.init}: val metrics {wrong} do not have one value per evaluated epoch")


@dataclass
class CompareReport:
    task: str
    selection_metric: str  # the task's: picks the best epoch
    selection_mode: str  # "max" | "min"
    val_loss: str | None  # the validation metric drawn as the validation loss (None: the task logs none)
    pretrained: InitRun
    scratch: InitRun
    epochs: int  # the budget both runs were given
    seed: int
    data: str
    command: str
    date: str
    config: dict[str, Any] = field(default_factory=dict)  # the resolved train and task configs, shared by both
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.format_version != FORMAT_VERSION:
            raise ValueError(f"format version {self.format_version}; this mmdemo reads {FORMAT_VERSION}")
        if self.selection_mode not in ("max", "min"):
            raise ValueError(f"selection_mode must be max or min; got {self.selection_mode!r}")

    @property
    def runs(self) -> dict[str, InitRun]:
        return {"pretrained": self.pretrained, "scratch": self.scratch}

    def metric_names(self) -> list[str]:
        """Every validation metric of either run: the selection metric first, then by name."""
        names = {name for run in self.runs.values() for name in run.val}
        return sorted(names, key=lambda name: (name != self.selection_metric, name))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def report_from_dict(data: Any, where: str = "report") -> CompareReport:
    try:
        return from_dict(CompareReport, data, where)
    except ConfigError as error:
        raise ReportError(f"{where} is not a compare-init report: {error}") from None


def load_report(path: str | Path) -> CompareReport:
    """A report from its folder or its ``report.json``; ReportError when missing or malformed."""
    path = Path(path)
    file = path / REPORT_FILE if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"No compare-init report at {file}.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReportError(f"{file} cannot be read as JSON ({error}).") from None
    return report_from_dict(data, str(file))


# -- figures and table -------------------------------------------------------------------------


def loss_figure(report: CompareReport) -> go.Figure:
    """Training (solid) and validation (dashed) loss per epoch, one colour per init (Figures 4 and 6)."""
    fig = go.Figure()
    for init, run in report.runs.items():
        colour = COLOURS[init]
        fig.add_trace(go.Scatter(x=run.epochs, y=run.train_loss, mode="lines+markers", name=f"{init} · train",
                                 line=dict(color=colour, width=2),
                                 hovertemplate=f"{init} · train<br>epoch %{{x}}: %{{y:.4g}}<extra></extra>"))
        if report.val_loss and report.val_loss in run.val:
            fig.add_trace(go.Scatter(x=run.val_epochs, y=run.val[report.val_loss], mode="lines+markers",
                                     name=f"{init} · validation", line=dict(color=colour, width=2, dash="dash"),
                                     hovertemplate=f"{init} · validation<br>epoch %{{x}}: %{{y:.4g}}<extra></extra>"))
    fig.update_layout(xaxis=_epoch_axis(report), yaxis_title="loss", height=360, template="plotly_white",
                      margin=dict(l=55, r=15, t=40, b=45), legend=dict(x=1.02, xanchor="left", y=1.0, yanchor="top"))
    return fig


def metric_figure(report: CompareReport, metric: str | None = None) -> go.Figure:
    """One validation metric per epoch for both inits (Figure 5), the best epoch circled."""
    metric = metric or report.selection_metric
    fig = go.Figure()
    for init, run in report.runs.items():
        if metric not in run.val:
            continue
        colour = COLOURS[init]
        fig.add_trace(go.Scatter(x=run.val_epochs, y=run.val[metric], mode="lines+markers", name=init,
                                 line=dict(color=colour, width=2),
                                 hovertemplate=f"{init}<br>epoch %{{x}}: {metric} %{{y:.4g}}<extra></extra>"))
        if metric == report.selection_metric and run.best is not None:
            fig.add_trace(go.Scatter(x=[run.best.epoch], y=[run.best.metrics[metric]], mode="markers",
                                     name=f"{init} · best", hoverinfo="skip",
                                     marker=dict(size=15, color="rgba(0,0,0,0)", line=dict(color=colour, width=3))))
    fig.update_layout(xaxis=_epoch_axis(report), yaxis_title=f"validation {metric}", height=360,
                      template="plotly_white", margin=dict(l=55, r=15, t=40, b=45),
                      legend=dict(x=1.02, xanchor="left", y=1.0, yanchor="top"))
    return fig


def _epoch_axis(report: CompareReport) -> dict[str, Any]:
    """Whole epochs only, about ten ticks at most."""
    last = max([report.epochs, *(e for run in report.runs.values() for e in run.epochs)])
    return dict(title="epoch", tick0=0, dtick=max(1, -(-last // 10)))


def summary_table(report: CompareReport) -> tuple[list[str], list[list[Any]]]:
    """Table 5 in kind: per init its best and its final epoch, with every validation metric there."""
    metrics = report.metric_names()
    rows = []
    for init, run in report.runs.items():
        for label, evaluation in (("best", run.best), ("final", run.final)):
            if evaluation is not None:
                rows.append([init, label, evaluation.epoch,
                             *(_round(evaluation.metrics.get(name)) for name in metrics)])
    return ["init", "epoch chosen", "epoch", *metrics], rows


def describe(report: CompareReport) -> list[str]:
    """Plain sentences that say what was compared and what came out (data by name: they are shown to users)."""
    highest = "highest" if report.selection_mode == "max" else "lowest"
    lines = [(f"Task {report.task}: trained from pretrained weights and from scratch on the same data "
              f"({without_dirs(report.data)}) with seed {report.seed}, the same config and a budget of {report.epochs} epochs "
              f"each. The best epoch is the one with the {highest} validation {report.selection_metric}.")]
    for init, run in report.runs.items():
        best = (f"best {report.selection_metric} {_round(run.best.metrics[report.selection_metric])} at epoch "
                f"{run.best.epoch}" if run.best is not None else "never evaluated")
        state = "" if run.status == "finished" else f" (stopped after {len(run.epochs)} epochs)"
        lines.append(f"{init}: {best}; {len(run.epochs)} epochs in {run.wall_seconds:.0f} s of wall time{state}.")
    if report.val_loss is None:
        lines.append("This task logs no validation loss, so the loss plot shows training loss only.")
    lines.append(f"Command: {without_dirs(report.command)}")
    return lines


def report_html(report: CompareReport) -> str:
    """The whole report as one HTML page with plotly.js embedded (opens offline)."""
    from plotly.offline import get_plotlyjs

    headers, rows = summary_table(report)
    table = "<div class=\"scroll\"><table><thead><tr>"
    table += "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr></thead><tbody>"
    table += "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    table += "</tbody></table></div>"
    figures = [("Training and validation loss", loss_figure(report))]
    figures += [(f"Validation {name}", metric_figure(report, name)) for name in report.metric_names()
                if name != report.val_loss]
    body = "".join(f"<h2>{html.escape(title)}</h2>" + fig.to_html(full_html=False, include_plotlyjs=False)
                   for title, fig in figures)
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in describe(report))
    title = f"Pretrained vs scratch: {report.task}"
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<script>{get_plotlyjs()}</script><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{paragraphs}<h2>Best and final epochs</h2>{table}{body}</body></html>\n")


_CSS = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#0f172a}"
        ".scroll{overflow-x:auto}table{border-collapse:collapse}"
        "th,td{border:1px solid #cbd5e1;padding:.3rem .6rem;text-align:right}"
        "th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}")


def _round(value: float | None) -> float | str:
    return "" if value is None else float(f"{value:.4g}")
