"""Clotho v2 reader: audio files with five captions each, plus optional caption rephrasings.

Layout (what the Clotho v2 download unpacks to, and what ``training.data.synthetic_audio`` writes)::

    ROOT/<split>/<file_name>                      audio (.wav, .flac, .mp3 or .ogg)
    ROOT/clotho_captions_<split>.csv              file_name,caption_1,...,caption_5
    ROOT/clotho_captions_<split>_variants.csv     file_name,caption,variant   (optional)

The variants file stands in for the paper's GPT-rephrased captions (CP-JKU section 2.4.4): one
row per rephrasing of one caption. A flat folder of audio with one captions CSV (the app's
demo collection) reads with ``read_captions_csv``. Bad data fails loudly here, with the file
and the first offending names, so that neither a training run nor an index silently shrinks.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from mmdemo.errors import InputError, first_names

SPLITS = ("development", "validation", "evaluation")
AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg")


@dataclass(frozen=True)
class AudioCaptionItem:
    """One recording and its captions; ``variants`` maps a caption to its rephrasings."""

    audio_path: Path
    captions: tuple[str, ...]
    variants: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    @property
    def clip_id(self) -> str:
        return self.audio_path.stem


def captions_csv_path(root: str | Path, split: str) -> Path:
    return Path(root) / f"clotho_captions_{split}.csv"


def variants_csv_path(root: str | Path, split: str) -> Path:
    return Path(root) / f"clotho_captions_{split}_variants.csv"


def read_clotho(root: str | Path, split: str) -> list[AudioCaptionItem]:
    """All items of one split, in CSV order, with variants attached when the split has them."""
    root = Path(root)
    csv_path = captions_csv_path(root, split)
    if not csv_path.is_file():
        found = sorted(
            path.name[len("clotho_captions_"):-len(".csv")]
            for path in root.glob("clotho_captions_*.csv")
            if not path.name.endswith("_variants.csv")
        )
        raise InputError(
            f"no captions file for split {split!r}: {csv_path} does not exist "
            f"(splits with a captions file here: {', '.join(found) or 'none'}; Clotho has {', '.join(SPLITS)})"
        )
    variants_path = variants_csv_path(root, split)
    return read_captions_csv(csv_path, root / split, variants_path if variants_path.is_file() else None)


def read_captions_csv(csv_path: str | Path, audio_dir: str | Path, variants_path: str | Path | None = None) -> list[AudioCaptionItem]:
    """Read one Clotho-style captions CSV whose audio lies in ``audio_dir`` (also used for flat folders)."""
    csv_path, audio_dir = Path(csv_path), Path(audio_dir)
    if not audio_dir.is_dir():
        raise InputError(f"audio folder {audio_dir} for {csv_path.name} does not exist")
    present = {path.name for path in audio_dir.iterdir() if path.is_file()}
    entries: dict[str, tuple[Path | None, tuple[str, ...]]] = {}
    duplicates: list[str] = []
    with csv_path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = _require_columns(csv_path, reader.fieldnames, ("file_name",))
        caption_columns = [column for column in columns if column.startswith("caption")]
        if not caption_columns:
            raise InputError(f"{csv_path}: no caption_* columns in header {columns}")
        for row in reader:
            name = (row.get("file_name") or "").strip()
            if not name:
                raise InputError(f"{csv_path}, line {reader.line_num}: empty file_name")
            if name in entries:
                duplicates.append(name)
                continue
            captions = tuple(text for column in caption_columns if (text := (row.get(column) or "").strip()))
            if not captions:
                raise InputError(f"{csv_path}, line {reader.line_num}: {name!r} has no caption (all caption cells are empty)")
            entries[name] = (_find_audio(audio_dir, name, present), captions)
    if duplicates:
        raise InputError(f"{csv_path}: {len(duplicates)} duplicate file_name rows: {first_names(duplicates, repr)}")
    missing = [name for name, (path, _) in entries.items() if path is None]
    if missing:
        raise InputError(
            f"{len(missing)} of {len(entries)} audio files listed in {csv_path.name} are missing from {audio_dir}: {first_names(missing, repr)}"
        )
    variants = _read_variants(Path(variants_path), entries) if variants_path is not None else {}
    return [
        AudioCaptionItem(audio_path=path, captions=captions, variants=variants.get(name, {}))
        for name, (path, captions) in entries.items()
    ]


def read_first_captions(audio_dir: Path) -> dict[str, str]:
    """file_name (and its stem) -> first caption, from every Clotho-style CSV at the top of ``audio_dir``.

    Lenient where ``read_captions_csv`` is strict, for labelling an index of any folder: a CSV
    without ``file_name`` and ``caption_1`` columns is skipped, and rows need no audio file.
    """
    captions: dict[str, str] = {}
    for csv_path in sorted(audio_dir.glob("*.csv")):
        try:
            with csv_path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                if not {"file_name", "caption_1"} <= set(reader.fieldnames or ()):
                    continue  # some other table, not captions
                for row in reader:
                    name, caption = (row["file_name"] or "").strip(), (row["caption_1"] or "").strip()
                    if name and caption:
                        captions.setdefault(name, caption)
                        captions.setdefault(Path(name).stem, caption)
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise InputError(f"cannot read captions from {csv_path}: {error}") from None
    return captions


def _read_variants(path: Path, entries: dict[str, tuple[Path | None, tuple[str, ...]]]) -> dict[str, dict[str, tuple[str, ...]]]:
    """file_name -> caption -> rephrasings; a row about an unknown clip or caption is an error."""
    collected: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        _require_columns(path, reader.fieldnames, ("file_name", "caption", "variant"))
        for row in reader:
            name, caption, variant = ((row.get(key) or "").strip() for key in ("file_name", "caption", "variant"))
            if name not in entries:
                raise InputError(f"{path}, line {reader.line_num}: {name!r} is not in the captions file")
            if caption not in entries[name][1]:
                raise InputError(f"{path}, line {reader.line_num}: {caption!r} is not one of the captions of {name!r}")
            if variant:
                collected[name][caption].append(variant)
    return {name: {caption: tuple(texts) for caption, texts in by_caption.items()} for name, by_caption in collected.items()}


def _require_columns(path: Path, fieldnames: list[str] | None, required: tuple[str, ...]) -> list[str]:
    if not fieldnames:
        raise InputError(f"{path} is empty (expected a header with {', '.join(required)})")
    columns = [name.strip() for name in fieldnames]
    absent = [name for name in required if name not in columns]
    if absent:
        raise InputError(f"{path}: header {columns} lacks column(s) {', '.join(absent)}")
    return columns


def _find_audio(audio_dir: Path, name: str, present: set[str]) -> Path | None:
    """Clotho lists ``x.wav``; accept that name as is, with an extension added, or re-encoded."""
    stem = Path(name).stem if Path(name).suffix.lower() in AUDIO_EXTENSIONS else name
    candidates = [name] + [name + ext for ext in AUDIO_EXTENSIONS] + [stem + ext for ext in AUDIO_EXTENSIONS]
    return next((audio_dir / candidate for candidate in candidates if candidate in present), None)
