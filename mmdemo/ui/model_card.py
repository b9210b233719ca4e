"""Words for the facts pipelines give about their models: each tab's header and its model card.

Pipelines' ``describe()`` returns facts (``ModelCard``s: export name, training data, metrics as
numbers); this module turns them into short Markdown, so that a person can judge a result:
which weights answered, trained on what, measured how well. Names only, never server paths.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from mmdemo.pipelines.base import ModelCard

SHOWN_METRICS = 4  # figures per model in a card; the selection metric comes first
HIDDEN_METRICS = {"loss", "caption_loss"}  # the training objective on val: bookkeeping, not a quality figure
FIRST_USE = " (loads on first use)"


def load_note(warm_up: bool) -> str:
    """What a header says about loading: nothing when warm-up loads the models at start."""
    return "" if warm_up else FIRST_USE


def figures(card: ModelCard) -> str:
    """'CIDEr 60.0, BLEU-4 10.5, ...' on the validation split, the metric the export was chosen by first."""
    names = [name for name in card.metrics if name not in HIDDEN_METRICS]
    names.sort(key=lambda name: name != card.selected_by)
    return ", ".join(f"{name} {card.metrics[name]:.1f}" for name in names[:SHOWN_METRICS]) or "not measured"


def card_rows(cards: list[ModelCard]) -> str:
    """A Markdown table: one row per model."""
    if not cards:
        return "_No trained model is installed for this tab._"
    rows = ["| Model | What it is | Trained on | Validation |", "|---|---|---|---|"]
    for card in cards:
        trained = card.data or "unknown data"
        if card.init:
            trained += f" ({'from pretrained weights' if card.init == 'pretrained' else 'from scratch'})"
        rows.append(f"| {card.name} | {card.note or '–'} | {trained} | {figures(card)} |")
    return "\n".join(rows)


def add_model_card(cards: list[ModelCard], elem_id: str, extra: str = "") -> None:
    """A closed accordion with the tab's model card (and ``extra`` facts below it)."""
    with gr.Accordion("Model card: which weights, trained on what, measured how well", open=False):
        gr.Markdown(card_rows(cards) + (f"\n\n{extra}" if extra else ""), elem_id=elem_id)


def qa_header(facts: dict[str, Any], warm_up: bool) -> str:
    """The Video QA tab's line: text encoder, search method, data and device (``AnswerLocator.describe()``)."""
    if facts["localizer"] == "ccgs":
        method = f"{facts['retrieval']} BM25 + dense first stage, CCGS span localizer over its top videos"
    else:
        method = f"{facts['retrieval']}: BM25 + dense cosine over caption windows, zero-shot span localizer"
    if facts["reader"]:
        method += "; a span QA reader picks the answer sentences"
    for name, why in facts["disabled"].items():  # a broken optional export: said, not hidden
        method += f"; {name} is turned off because its export does not load ({why})"
    corpus = facts["corpus"]
    return (f"**Text encoder:** {facts['text_encoder']} · **Search:** {method} · "
            f"**Data:** {corpus['videos']} bundled demo videos ({corpus['minutes']:.1f} min) · "
            f"**Device:** {facts['device']}{load_note(warm_up)}")
