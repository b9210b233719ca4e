"""TAU Audio-Visual Urban Scenes 2021 reader (DCASE 2021 task 1B), and anything laid out like it.

Layout (what the development set unpacks to, and what ``synthetic_scenes`` writes)::

    ROOT/audio/<name>.wav
    ROOT/video/<name>.mp4
    ROOT/evaluation_setup/fold1_train.csv       filename_audio<TAB>filename_video<TAB>scene_label
    ROOT/evaluation_setup/fold1_evaluate.csv    same columns, the held-out clips

The CSV cells name files relative to ROOT (``audio/airport-lisbon-1000-40000-a.wav``); a bare
file name is looked up in ``audio/`` or ``video/``. Class indices follow the sorted class names,
the column order of DCASE's result files, and are the same for both splits. Bad data fails
loudly, naming the file and the first offending rows, so that training never starts on a
silently shrunken dataset. It lives in ``mmdemo`` because ``python -m mmdemo.evaluate scene``
reads the same splits that ``python -m training scene`` trains on.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mmdemo.errors import first_names

# The ten scene classes of TAU Urban (Audio-Visual) Scenes, in the dataset's own order.
TAU_CLASSES = (
    "airport", "shopping_mall", "metro_station", "street_pedestrian", "public_square",
    "street_traffic", "tram", "bus", "metro", "park",
)
COLUMNS = ("filename_audio", "filename_video", "scene_label")
SPLITS = ("train", "evaluate")


@dataclass(frozen=True)
class SceneItem:
    """One 10 s clip: its audio and video files and its scene."""

    audio: Path
    video: Path
    label: str
    label_index: int

    @property
    def clip_id(self) -> str:
        return self.audio.stem


@dataclass(frozen=True)
class SceneSplit:
    items: tuple[SceneItem, ...]
    classes: tuple[str, ...]  # label_index -> class name


def setup_csv(root: str | Path, split: str, fold: int = 1) -> Path:
    return Path(root) / "evaluation_setup" / f"fold{fold}_{split}.csv"


def read_tau(root: str | Path, split: str = "train", fold: int = 1, classes: Sequence[str] | None = None) -> SceneSplit:
    """The items of ``fold<fold>_<split>.csv``, in file order.

    ``classes`` fixes the class list (every label must be in it); by default it is the sorted
    set of labels in the fold's train and evaluate files together.
    """
    root = Path(root)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    csv_path = setup_csv(root, split, fold)
    if not csv_path.is_file():
        found = sorted(path.name for path in (root / "evaluation_setup").glob("*.csv"))
        raise FileNotFoundError(f"{csv_path} does not exist (CSV files in {root / 'evaluation_setup'}: {', '.join(found) or 'none'})")
    rows = read_setup_csv(csv_path)
    if classes is None:
        other = setup_csv(root, "evaluate" if split == "train" else "train", fold)
        labels = {label for _, _, label in rows} | ({label for _, _, label in read_setup_csv(other)} if other.is_file() else set())
        classes = sorted(labels)
    classes = tuple(classes)
    unknown = sorted({label for _, _, label in rows} - set(classes))
    if unknown:
        raise ValueError(f"{csv_path}: labels not in the class list {list(classes)}: {first_names(unknown)}")
    index = {name: i for i, name in enumerate(classes)}
    items, missing = [], []
    for audio_cell, video_cell, label in rows:
        audio, video = _resolve(root, audio_cell, "audio"), _resolve(root, video_cell, "video")
        missing += [cell for cell, path in ((audio_cell, audio), (video_cell, video)) if not path.is_file()]
        items.append(SceneItem(audio, video, label, index[label]))
    if missing:
        raise FileNotFoundError(f"{len(missing)} files listed in {csv_path.name} are missing under {root}: {first_names(missing)}")
    return SceneSplit(tuple(items), classes)


def read_setup_csv(csv_path: Path) -> list[tuple[str, str, str]]:
    """(filename_audio, filename_video, scene_label) rows of one tab-separated setup file."""
    with csv_path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        header = reader.fieldnames or []
        absent = [column for column in COLUMNS if column not in header]
        if absent:
            hint = " (the TAU files are tab-separated)" if len(header) == 1 and "," in header[0] else ""
            raise ValueError(f"{csv_path}: missing column(s) {', '.join(absent)} in header {header}{hint}")
        rows, seen, duplicates = [], set(), []
        for row in reader:
            cells = tuple((row.get(column) or "").strip() for column in COLUMNS)
            empty = [column for column, cell in zip(COLUMNS, cells) if not cell]
            if empty:
                raise ValueError(f"{csv_path}, line {reader.line_num}: empty {', '.join(empty)}")
            if cells[0] in seen:
                duplicates.append(cells[0])
            seen.add(cells[0])
            rows.append(cells)
    if duplicates:
        raise ValueError(f"{csv_path}: {len(duplicates)} duplicate rows: {first_names(duplicates)}")
    if not rows:
        raise ValueError(f"{csv_path} lists no clips")
    return rows


def _resolve(root: Path, cell: str, folder: str) -> Path:
    """``audio/x.wav`` is relative to ROOT; a bare ``x.wav`` lies in ROOT/<folder>."""
    return root / cell if "/" in cell else root / folder / cell
