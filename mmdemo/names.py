"""What the app may tell people about the models and data it runs on: names, never server paths.

Headers, API answers and the Training tab name a checkpoint by its folder name and the
``note`` of its ``meta.json`` (``mmdemo.pipelines.base.ModelCard``), and data by its folder
name, so that nothing of the server's directory layout (the repository's location, the home
directory) reaches users (issue 12).
"""

from __future__ import annotations

import re
from pathlib import Path

_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])~?/[^\s'\"()]*")  # not inside a URL or a relative path


def without_dirs(text: str) -> str:
    """``text`` with every absolute (or ``~/``) path cut down to its last part: ``/srv/x/runs/data`` -> ``data``."""
    return _ABSOLUTE_PATH.sub(lambda match: Path(match.group(0)).name or match.group(0), text)
