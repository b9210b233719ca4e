"""Example inputs a tab offers: the bundled clips of one assets/ folder."""

from __future__ import annotations

from pathlib import Path

import gradio as gr


def example_videos(folder: Path) -> list[list[str]]:
    """One ``gr.Examples`` row per mp4 in ``folder``, sorted; none when the folder is missing."""
    return [[str(path)] for path in sorted(folder.glob("*.mp4"))] if folder.is_dir() else []


def add_video_examples(folder: Path, target: gr.Video, label: str) -> None:
    """Offer ``folder``'s clips as examples for ``target``, each named by its file name; nothing when there are none."""
    examples = example_videos(folder)
    if examples:
        gr.Examples(examples=examples, inputs=[target], label=label, example_labels=[Path(e[0]).stem for e in examples])
