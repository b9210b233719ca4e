"""Readers for the captioning benchmarks' annotation files (MELTR section 5: YouCook2 and MSRVTT).

Each returns ``CaptionClip``s, one per captioned stretch of video, so that the captioning task
does not care which dataset it reads:

- YouCook2, ``youcookii_annotations_trainval.json``: ``{"database": {video_id: {"subset",
  "duration", "annotations": [{"segment": [start, end], "sentence"}, ...]}}}``; one clip per
  annotated segment (seconds into the full video), one caption each. Test videos, which come
  without annotations, yield no clips.
- MSRVTT, ``train_val_videodatainfo.json`` (or ``test_videodatainfo.json``): ``{"videos":
  [{"video_id", "split", "start time", "end time", ...}], "sentences": [{"video_id", "caption"}]}``;
  one clip per video with all of its captions (about 20). The released clips are already cut,
  so a clip runs from 0 to ``end time - start time`` of its file.
- MSRVTT, ``MSRVTT_JSFUSION_test.csv`` (columns ``key,vid_key,video_id,sentence``, the 1k-A
  test split): one clip per video, its sentences as captions, split "test", to the end of the file.

- ``transcripts.json`` (``python -m training.data.synthetic_captions`` writes one): ``{video_id:
  [{"start", "end", "text"}, ...]}``, seconds; ``read_transcripts`` joins each clip's segments.

Split names are unified to "train", "val" and "test". A malformed file raises ``InputError``
naming the file and the entry at fault. They live in ``mmdemo`` because both the caption task
(``training.tasks.caption``) and ``python -m mmdemo.evaluate caption`` read these layouts.
"""

from __future__ import annotations

import csv
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


def read_youcook2(path: str | Path, splits: Iterable[str] | None = None) -> list[CaptionClip]:
    """One clip per annotated segment of ``youcookii_annotations_trainval.json``, in file order."""
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("database"), dict):
        raise InputError(f"{path}: not a YouCook2 annotation file (no 'database' object)")
    wanted = _wanted(splits, path)
    clips = []
    for video_id, video in data["database"].items():
        where = f"{path}: video {video_id}"
        if not isinstance(video, dict) or "subset" not in video:
            raise InputError(f"{where}: expected an object with a 'subset'")
        split = _split_name(video["subset"], where)
        if wanted is not None and split not in wanted:
            continue
        for index, note in enumerate(video.get("annotations", [])):
            at = f"{where}, annotation {index}"
            segment = note.get("segment") if isinstance(note, dict) else None
            if not (isinstance(segment, list) and len(segment) == 2
                    and all(isinstance(t, (int, float)) for t in segment) and 0 <= segment[0] <= segment[1]):
                raise InputError(f"{at}: 'segment' must be [start, end] seconds with 0 <= start <= end, got {segment!r}")
            clips.append(CaptionClip(str(video_id), float(segment[0]), float(segment[1]),
                                     (_text(note.get("sentence"), at),), split))
    return clips


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


def read_msrvtt_csv(path: str | Path) -> list[CaptionClip]:
    """One clip per video of ``MSRVTT_JSFUSION_test.csv``, in order of first appearance."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"video_id", "sentence"} - set(reader.fieldnames or ())
        if missing:
            raise InputError(f"{path}: missing column(s) {', '.join(sorted(missing))}; "
                             f"found {', '.join(reader.fieldnames or ()) or 'none'} "
                             "(expected key,vid_key,video_id,sentence)")
        captions: dict[str, list[str]] = {}
        for line, row in enumerate(reader, start=2):
            video_id = (row["video_id"] or "").strip()
            if not video_id:
                raise InputError(f"{path}, line {line}: empty video_id")
            captions.setdefault(video_id, []).append(_text(row["sentence"], f"{path}, line {line}"))
    return [CaptionClip(video_id, 0.0, None, tuple(texts), "test") for video_id, texts in captions.items()]


def read_transcripts(path: str | Path) -> dict[str, str]:
    """``transcripts.json`` as ``{video_id: text}``, each clip's segments joined in time order."""
    data = _load_json(Path(path))
    return {video_id: " ".join(s["text"] for s in sorted(segments, key=lambda s: s["start"]))
            for video_id, segments in data.items()}
