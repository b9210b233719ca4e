"""What the app may tell people about the models and data it runs on: names, never server paths.

Headers, API answers and the Training tab name a checkpoint by its folder name and the
``note`` of its ``meta.json``, and data by its folder name, so that nothing of the server's
directory layout (the repository's location, the home directory) reaches users (issue 12).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])~?/[^\s'\"()]*")  # not inside a URL or a relative path


def without_dirs(text: str) -> str:
    """``text`` with every absolute (or ``~/``) path cut down to its last part: ``/srv/x/runs/data`` -> ``data``."""
    return _ABSOLUTE_PATH.sub(lambda match: Path(match.group(0)).name or match.group(0), text)


def checkpoint_label(path: Path) -> str:
    """A checkpoint's folder name and what its ``meta.json`` says it is, e.g. ``captioner (video captioning ...)``."""
    try:  # a label must never fail a request: a broken meta.json just gives the bare name
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        note = meta.get("note") if isinstance(meta, dict) else None
    except (OSError, ValueError):
        note = None
    return f"{path.name} ({without_dirs(note)})" if isinstance(note, str) and note else path.name
