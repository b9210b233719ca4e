"""The MELTR panel's words and figures (no model needed)."""

from __future__ import annotations

from mmdemo.models.captioner import LOSS_NAMES
from mmdemo.ui.captioning import LOSS_MEANINGS, losses_markdown
from mmdemo.ui.plots import meltr_curves_figure, meltr_weights_figure


def test_every_loss_the_captioner_trains_is_spelled_out():
    assert set(LOSS_MEANINGS) == set(LOSS_NAMES)
    text = losses_markdown(list(LOSS_NAMES))
    assert text.count("\n") == len(LOSS_NAMES) - 1 and "**cmlm**: conditioned masked language model" in text


def test_the_figures_count_epochs_as_the_record_does():
    weights = meltr_weights_figure([1, 2, 3], ["caption", "joint"], [[1.0, 0.5], [0.9, 0.4], [0.8, 0.3]])
    assert list(weights.data[0].x) == [1, 2, 3] and weights.data[1].name == "joint"
    curves = meltr_curves_figure(["caption"], {"grid": [0.0, 1.0], "output": [[0.0, 1.0]], "epoch": 3})
    assert curves.layout.title.text == "after epoch 3"
