"""The figures show what the pipelines found: scores over time with the answer shaded, spans, spectrograms."""

from __future__ import annotations

import numpy as np
import pytest

from mmdemo.data.cityscapes import IGNORE_INDEX
from mmdemo.ui.plots import (ANSWER_COLOUR, OTHER_COLOUR, colorize, overlay, pooled_span_matrix, spectrogram_db,
                              spectrogram_figure, timeline_figure)

TIMELINE = {
    "times": [2.0, 6.0, 10.0, 14.0],
    "texts": ["intro", "sit tall", "tuck your chin back", "repeat ten times"],
    "scores": [0.0, 0.4, 1.0, 0.6],
    "span": [8.0, 16.0],
    "others": [[0.0, 8.0]],
}


def test_scores_are_plotted_against_time_with_captions_on_hover():
    fig = timeline_figure(TIMELINE, "Chin tuck")
    (trace,) = fig.data
    assert list(trace.x) == TIMELINE["times"] and list(trace.y) == TIMELINE["scores"]
    assert list(trace.text) == TIMELINE["texts"]
    assert fig.layout.title.text == "Chin tuck"


def test_answer_span_is_shaded_and_runners_up_are_grey():
    shapes = timeline_figure(TIMELINE).layout.shapes
    spans = {(s.x0, s.x1): s.fillcolor for s in shapes}
    assert spans == {(8.0, 16.0): ANSWER_COLOUR, (0.0, 8.0): OTHER_COLOUR}


def test_timeline_without_texts_or_others():
    fig = timeline_figure({"times": [1.0], "scores": [1.0], "span": [0.0, 2.0]})
    assert len(fig.layout.shapes) == 1 and fig.data[0].text is None


def test_spectrograms_travel_as_compact_typed_arrays():
    """Whole dB in int8 typed arrays: what the browser gets and each session keeps stays small (issue 19)."""
    db = np.array([[-40.25 + (m + f) % 60 for f in range(400)] for m in range(128)])
    power = 10 ** (db / 10)
    figure = spectrogram_figure([{"clip_id": f"c{i}", "power": power, "seconds": 10.0} for i in range(5)], [0.9] * 5)
    z = figure.data[0].z
    assert z.dtype == "int8" and z.shape == (128, 400) and z[0, 0] == -40 and z[0, 59] == 19
    assert '"bdata"' in figure.to_json() and len(figure.to_json()) < 500_000


def test_overlay_blends_class_colours_and_leaves_ignored_pixels():
    frames = np.full((1, 1, 3, 3), 100, np.uint8)
    labels = np.array([[[0, 13, IGNORE_INDEX]]], np.uint8)  # road, car, ignored
    assert colorize(labels)[0, 0].tolist() == [[128, 64, 128], [0, 0, 142], [0, 0, 0]]
    assert overlay(frames, labels, alpha=0.5)[0, 0].tolist() == [[114, 82, 114], [50, 50, 121], [100, 100, 100]]
    assert (overlay(frames, labels, alpha=0.0) == frames).all()
    with pytest.raises(ValueError, match="differ in size"):
        overlay(frames, labels[..., :2])


def test_the_span_heatmap_pools_large_matrices_without_losing_the_best_span():
    r = 400
    matrix = np.triu(np.random.default_rng(0).normal(size=(r, r)))
    matrix[np.tril_indices(r, -1)] = -np.inf
    matrix[10, 300] = 50.0
    pooled = pooled_span_matrix({"starts": [float(i) for i in range(r)], "ends": [i + 1.0 for i in range(r)],
                                 "scores": matrix})
    assert len(pooled["scores"]) <= 160
    assert max(v for row in pooled["scores"] for v in row if v is not None) == 50.0
    assert pooled["starts"][0] == 0.0 and pooled["ends"][-1] == r


def test_long_spectrograms_are_max_pooled_to_the_browser_width_and_short_events_stay():
    power = np.full((4, 1000), 1e-6)
    power[2, 777] = 1.0  # one loud frame
    db = spectrogram_db(power, max_frames=400)
    assert db.shape == (4, 334) and db[2].max() == 0.0 and db[0].max() == pytest.approx(-60.0)
    assert spectrogram_db(np.zeros((1, 3)))[0, 0] == pytest.approx(-100.0)  # silence floors at -100 dB
