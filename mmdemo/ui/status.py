"""The header line: which models and data the app answers with, so results can be judged."""

from __future__ import annotations


def models_markdown(info: dict[str, str]) -> str:
    """One Markdown line from ``AnswerLocator.describe()``."""
    return (
        f"**Text encoder:** {info['text_encoder']} · **Search:** {info['method']} · "
        f"**Data:** {info['corpus']} · **Device:** {info['device']}"
    )
