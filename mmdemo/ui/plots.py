"""Plotly figures for the UI; they draw what a pipeline computed and compute nothing new."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import plotly.graph_objects as go

from mmdemo.data.cityscapes import IGNORE_INDEX, TRAIN_COLORS

SPECTROGRAM_MAX_FRAMES = 400  # longer spectrograms are max-pooled in time for the browser
HEATMAP_MAX_SENTENCES = 160  # larger span matrices are max-pooled down to this for the browser
# Legends beside the plot, top-aligned: never under gradio's label (top left) or the axis titles (below).
SIDE_LEGEND = dict(x=1.02, xanchor="left", y=1.0, yanchor="top")
ANSWER_COLOUR = "#16a34a"
OTHER_COLOUR = "#94a3b8"
LINE_COLOUR = "#2563eb"


def timeline_figure(timeline: dict[str, Any], title: str = "") -> go.Figure:
    """Relevance of each caption over time, the chosen span shaded green, runners-up grey.

    ``timeline`` is ``LocateResult.timeline``: "times", "texts", "scores", "span", "others".
    Hovering a point shows its caption, so a person can see why the span was chosen.
    """
    fig = go.Figure()
    for start, end in timeline.get("others", []):
        fig.add_vrect(x0=start, x1=end, fillcolor=OTHER_COLOUR, opacity=0.12, line_width=0, layer="below")
    start, end = timeline["span"]
    fig.add_vrect(
        x0=start, x1=end, fillcolor=ANSWER_COLOUR, opacity=0.25, line_width=0, layer="below",
        annotation_text="answer", annotation_position="top left",
    )
    hover = ["<br>".join(textwrap.wrap(text, 60)) for text in timeline.get("texts", [])]
    fig.add_trace(
        go.Scatter(
            x=timeline["times"],
            y=timeline["scores"],
            mode="lines+markers",
            line=dict(color=LINE_COLOUR, width=2),
            marker=dict(size=6),
            text=hover or None,
            hovertemplate="%{x:.1f} s · relevance %{y:.2f}<br>%{text}<extra></extra>" if hover else None,
            name="caption relevance",
        )
    )
    fig.update_layout(
        title=dict(text=title, font=dict(size=14)),
        xaxis_title="time in the video (s)",
        yaxis_title="relevance to the question",
        yaxis_range=[0, 1.08],
        height=280,
        margin=dict(l=50, r=15, t=40 if title else 15, b=45),
        showlegend=False,
        template="plotly_white",
    )
    return fig


def pooled_span_matrix(span_matrix: dict[str, Any], max_sentences: int = HEATMAP_MAX_SENTENCES) -> dict[str, Any]:
    """The span matrix as plain lists for plotting (None for impossible spans), max-pooled in blocks
    of sentences when it has more than ``max_sentences``, so the best span always stays visible."""
    matrix = np.asarray(span_matrix["scores"], dtype=np.float64)
    r = matrix.shape[0]
    block = -(-r // max_sentences)  # ceil
    cells = -(-r // block)
    padded = np.full((cells * block, cells * block), -np.inf)
    padded[:r, :r] = matrix
    pooled = padded.reshape(cells, block, cells, block).max(axis=(1, 3))
    starts = [span_matrix["starts"][min(i * block, r - 1)] for i in range(cells)]
    ends = [span_matrix["ends"][min(i * block + block - 1, r - 1)] for i in range(cells)]
    scores = [[float(v) if np.isfinite(v) else None for v in row] for row in pooled]
    return {"starts": starts, "ends": ends, "scores": scores}


def span_matrix_figure(span_matrix: dict[str, Any] | None, chosen: tuple[float, float] | None = None) -> go.Figure | None:
    """CCGS's global-span matrix of the chosen video: row = where a span starts, column = where it ends.

    Bright cells are spans CCGS believes answer the question; the chosen one is circled.
    """
    if span_matrix is None:
        return None
    span_matrix = pooled_span_matrix(span_matrix)
    fig = go.Figure(
        go.Heatmap(
            x=span_matrix["ends"],
            y=span_matrix["starts"],
            z=span_matrix["scores"],
            colorscale="Viridis",
            colorbar=dict(title="span score"),
            hovertemplate="start %{y:.1f} s · end %{x:.1f} s<br>score %{z:.2f}<extra></extra>",
        )
    )
    if chosen is not None:
        fig.add_trace(go.Scatter(x=[chosen[1]], y=[chosen[0]], mode="markers", showlegend=False, hoverinfo="skip",
                                 marker=dict(size=14, color="rgba(0,0,0,0)", line=dict(color="#ef4444", width=3))))
    fig.update_layout(
        xaxis_title="span end (s)",
        yaxis_title="span start (s)",
        yaxis_autorange="reversed",
        height=340,
        margin=dict(l=55, r=15, t=40, b=45),  # room for the label gradio draws over the plot
        template="plotly_white",
    )
    return fig


def spectrogram_db(power: np.ndarray, max_frames: int = SPECTROGRAM_MAX_FRAMES) -> np.ndarray:
    """A (mels, frames) power spectrogram in dB, max-pooled in time down to ``max_frames`` columns
    (which keeps short events visible)."""
    db = 10.0 * np.log10(np.maximum(np.asarray(power, dtype=np.float32), 1e-10))
    pool = -(-db.shape[1] // max_frames)  # ceil
    if pool > 1:
        columns = -(-db.shape[1] // pool)
        padded = np.full((db.shape[0], columns * pool), -np.inf, dtype=np.float32)
        padded[:, : db.shape[1]] = db
        db = padded.reshape(db.shape[0], columns, pool).max(axis=2)
    return db


def spectrogram_figure(spectrograms: list[dict[str, Any]], scores: list[float] | None = None) -> go.Figure | None:
    """Each clip's log-mel spectrogram (dB), stacked one under another in rank order; ``spectrograms``
    are ``AudioSearchResult.spectrograms`` ("clip_id", mel "power", "seconds").

    The dB values go in as whole numbers in an int8 array, which plotly sends as a base64 typed
    array: about 6 times less JSON than lists of floats, for the browser and for the copy that
    gradio keeps in each session (issue 19). The colour scale spans 120 dB, so 1 dB steps are invisible.
    """
    if not spectrograms:
        return None
    from plotly.subplots import make_subplots

    titles = [f"{i + 1}. {s['clip_id']}" + (f" · {scores[i]:.3f}" if scores else "") for i, s in enumerate(spectrograms)]
    fig = make_subplots(rows=len(spectrograms), cols=1, subplot_titles=titles, vertical_spacing=0.25 / len(spectrograms))
    for row, spec in enumerate(spectrograms, start=1):
        db = spectrogram_db(spec["power"])
        frames = db.shape[1]
        seconds = [spec["seconds"] * (i + 0.5) / max(frames, 1) for i in range(frames)]
        whole_db = np.clip(np.rint(db), -128, 127).astype(np.int8)
        fig.add_trace(
            go.Heatmap(z=whole_db, x=seconds, colorscale="Magma", zmin=-100, zmax=20, showscale=row == 1,
                       colorbar=dict(title="dB"), hovertemplate="%{x:.2f} s · mel bin %{y}<br>%{z:.0f} dB<extra></extra>"),
            row=row, col=1,
        )
        fig.update_yaxes(title_text="mel bin", row=row, col=1)
    fig.update_xaxes(title_text="time (s)", row=len(spectrograms), col=1)
    fig.update_layout(height=150 + 170 * len(spectrograms), margin=dict(l=55, r=15, t=40, b=45), template="plotly_white")
    return fig


def scene_probabilities_figure(per_model: dict[str, dict[str, float]], fused: dict[str, float]) -> go.Figure | None:
    """Per-class confidence of each model beside the ensemble's, one group of bars per class."""
    if not fused:
        return None
    classes = list(fused)
    fig = go.Figure()
    for model, probs in per_model.items():
        fig.add_trace(go.Bar(name=model, x=classes, y=[probs.get(c, 0.0) for c in classes], opacity=0.75,
                             hovertemplate=f"{model}<br>%{{x}}: %{{y:.2f}}<extra></extra>"))
    fig.add_trace(go.Bar(name="ensemble", x=classes, y=[fused[c] for c in classes], marker_color=ANSWER_COLOUR,
                         hovertemplate="ensemble<br>%{x}: %{y:.2f}<extra></extra>"))
    fig.update_layout(barmode="group", yaxis_title="confidence", yaxis_range=[0, 1], height=360,
                      legend=SIDE_LEGEND, margin=dict(l=55, r=15, t=40, b=90),
                      template="plotly_white")
    return fig


def meltr_weights_figure(epochs: list[int], tasks: list[str], weights: list[list[float]]) -> go.Figure | None:
    """Figure 4 of MELTR: each loss's weight (d output / d loss) per epoch, one line per loss."""
    if not epochs:
        return None
    fig = go.Figure()
    for index, task in enumerate(tasks):
        fig.add_trace(go.Scatter(x=epochs, y=[row[index] for row in weights], mode="lines+markers",
                                 name=task, hovertemplate=f"{task}<br>epoch %{{x}}: weight %{{y:.3f}}<extra></extra>"))
    fig.update_layout(xaxis_title="epoch", yaxis_title="weight (d MELTR output / d loss)", height=340,
                      margin=dict(l=55, r=15, t=50, b=45), template="plotly_white", legend=SIDE_LEGEND)
    return fig


def meltr_curves_figure(tasks: list[str], curves: dict[str, Any]) -> go.Figure | None:
    """Figure 3 of MELTR: MELTR's output as one loss sweeps its range, the others held at their epoch mean."""
    if not curves or not curves.get("grid"):
        return None
    fig = go.Figure()
    for index, task in enumerate(tasks):
        fig.add_trace(go.Scatter(x=curves["grid"], y=curves["output"][index], mode="lines", name=task,
                                 hovertemplate=f"{task} = %{{x:.2f}}<br>output %{{y:.3f}}<extra></extra>"))
    fig.update_layout(xaxis_title="input loss value", yaxis_title="MELTR output",
                      title=f"after epoch {curves.get('epoch', 1)}", height=340,
                      margin=dict(l=55, r=15, t=50, b=45), template="plotly_white", legend=SIDE_LEGEND)
    return fig


# Segmentation: Cityscapes train id -> RGB; IGNORE_INDEX and unused ids stay black
PALETTE = np.zeros((256, 3), np.uint8)
PALETTE[: len(TRAIN_COLORS)] = TRAIN_COLORS
OVERLAY_ALPHA = 0.5  # how strongly the class colours cover a segmented frame


def colorize(label_maps: np.ndarray) -> np.ndarray:
    """(..., H, W) uint8 Cityscapes train ids -> (..., H, W, 3) uint8 in the Cityscapes colours."""
    return PALETTE[label_maps]


def overlay(frames: np.ndarray, label_maps: np.ndarray, alpha: float = OVERLAY_ALPHA) -> np.ndarray:
    """Frames with their label maps' colours blended in at ``alpha``; ignored pixels stay as they are."""
    if frames.shape[:-1] != label_maps.shape:
        raise ValueError(f"frames {frames.shape} and label maps {label_maps.shape} differ in size")
    blend = (1.0 - alpha) * frames + alpha * colorize(label_maps)
    blended = np.where((label_maps == IGNORE_INDEX)[..., None], frames, blend)
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)
