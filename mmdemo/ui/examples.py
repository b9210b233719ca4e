"""Example inputs a tab offers: the bundled clips of one assets/ folder."""

from __future__ import annotations

from pathlib import Path


def example_videos(folder: Path) -> list[list[str]]:
    """One ``gr.Examples`` row per mp4 in ``folder``, sorted; none when the folder is missing."""
    return [[str(path)] for path in sorted(folder.glob("*.mp4"))] if folder.is_dir() else []
