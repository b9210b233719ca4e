"""Reader for the captioning benchmark's annotation files (MELTR section 5, MSRVTT).

- MSRVTT, ``train_val_videodatainfo.json`` (or ``test_videodatainfo.json``): ``{"videos":
  [{"video_id", "split", "start time", "end time", ...}], "sentences": [{"video_id", "caption"}]}``;
  one ``CaptionClip`` per video with all of its captions (about 20). The released clips are
  already cut, so a clip runs from 0 to ``end time - start time`` of its file.
- ``transcripts.json`` (``python -m training.data.synthetic_captions`` writes one): ``{video_id:
  [{"start", "end", "text"}, ...]}``, seconds; ``read_transcripts`` joins each clip's segments.

Split names are unified to "train", "val" and "test". A malformed file raises ``InputError``
naming the file and the entry at fault. Both the caption task (``training.tasks.caption``) and
``python -m mmdemo.evaluate caption`` read these layouts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdemo.errors import InputError

SPLITS = {"training": "train", "train": "train", "validation": "val", "validate": "val", "val": "val",
          "testing": "test", "test": "test"}


@dataclass(frozen=True)
class CaptionClip:
    video_id: str
    start: float  # seconds into the video file
    end: float | None  # seconds; None: to the end of the file
    captions: tuple[str, ...]
    split: str  # "train" | "val" | "test"


def _split_name(name: Any, where: str) -> str:
    if name not in SPLITS:
        raise InputError(f"{where}: unknown split {name!r}; expected one of {', '.join(SPLITS)}")
    return SPLITS[name]


def _wanted(splits: Iterable[str] | None, path: Path) -> set[str] | None:
    return None if splits is None else {_split_name(s, str(path)) for s in splits}


def _load_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: not valid JSON ({error})") from error


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: expected a non-empty caption string, got {value!r}")
    return value.strip()


def read_msrvtt(path: str | Path, splits: Iterable[str] | None = None) -> list[CaptionClip]:
    """One clip per video of an MSRVTT ``*_videodatainfo.json``, in the order of its "videos"."""
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("videos"), list) \
            or not isinstance(data.get("sentences"), list):
        raise InputError(f"{path}: not an MSRVTT annotation file (needs 'videos' and 'sentences' lists)")
    captions: dict[str, list[str]] = {}
    for video in data["videos"]:
        if not isinstance(video, dict) or "video_id" not in video or "split" not in video:
            raise InputError(f"{path}: every entry of 'videos' needs 'video_id' and 'split', got {video!r}")
        captions[str(video["video_id"])] = []
    for index, sentence in enumerate(data["sentences"]):
        video_id = str(sentence.get("video_id")) if isinstance(sentence, dict) else None
        if video_id not in captions:
            raise InputError(f"{path}: sentence {index} refers to video {video_id!r}, which 'videos' does not list")
        captions[video_id].append(_text(sentence.get("caption"), f"{path}: sentence {index}"))
    wanted = _wanted(splits, path)
    clips = []
    for video in data["videos"]:
        video_id = str(video["video_id"])
        split = _split_name(video["split"], f"{path}: video {video_id}")
        if wanted is not None and split not in wanted:
            continue
        start, end = video.get("start time"), video.get("end time")
        length = float(end) - float(start) if start is not None and end is not None else None
        clips.append(CaptionClip(video_id, 0.0, length, tuple(captions[video_id]), split))
    return clips


def read_transcripts(path: str | Path) -> dict[str, str]:
    """``transcripts.json`` as ``{video_id: text}``, each clip's segments joined in time order."""
    data = _load_json(Path(path))
    return {video_id: " ".join(s["text"] for s in sorted(segments, key=lambda s: s["start"]))
            for video_id, segments in data.items()}
