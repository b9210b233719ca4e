"""MedVidQA reader (Gupta et al. 2022, "A dataset for medical instructional video classification
and question answering"), and anything laid out like it.

Layout (what the MedVidQA release unpacks to, and what ``training.tasks.ccgs`` writes for its
held-out split)::

    ROOT/questions/<split>.json     list of {"sample_id", "question", "video_id",
                                    "answer_start_second", "answer_end_second", ...}
    ROOT/subtitles/<split>/<video_id>.json   the video's YouTube caption lines

Besides: the off-topic question set (``assets/questions/off_topic.json``, lists of questions by
kind) that ``python -m mmdemo.evaluate medvidqa --off-topic`` asks to measure refusals.
Bad data fails with an ``InputError`` that names the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from mmdemo.errors import InputError
from mmdemo.media.subtitles import clean_captions, parse_medvidqa
from mmdemo.retrieval.corpus import Video


def load_questions(path: str | Path) -> list[dict]:
    """The question records of one ``questions/<split>.json``, as they are in the file."""
    try:
        records = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read questions from {path}: {err}") from err
    if not isinstance(records, list):
        raise InputError(f"{path} should hold a JSON list of question records")
    return records


def load_off_topic(path: str | Path) -> list[str]:
    """Every question of an off-topic set (assets/questions/off_topic.json: lists of strings by kind)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read off-topic questions from {path}: {err}") from err
    return [q for value in data.values() if isinstance(value, list) for q in value]


def load_medvidqa_corpus(subtitle_dirs: Iterable[str | Path]) -> list[Video]:
    """Every ``<video_id>.json`` caption file in the folders, one Video each, sorted by id."""
    folders = [Path(d) for d in subtitle_dirs]
    videos: dict[str, Video] = {}
    for folder in folders:
        if not folder.is_dir():
            raise InputError(f"subtitle folder not found: {folder}")
        for path in sorted(folder.glob("*.json")):
            captions = tuple(clean_captions(parse_medvidqa(path.read_text(encoding="utf-8"))))
            if captions:
                videos[path.stem] = Video(path.stem, captions)
    if not videos:
        raise InputError(f"no MedVidQA caption files (*.json) in {', '.join(map(str, folders))}")
    return [videos[k] for k in sorted(videos)]
