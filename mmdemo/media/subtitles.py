"""Subtitles from SRT, WebVTT, MedVidQA JSON and streams embedded in a container.

Parsers turn a format into ``Caption``s with markup removed (lines kept, joined by "\\n"), and
``to_srt``/``to_vtt`` write them back out;
``clean_captions`` then makes them usable for retrieval: ordered, disjoint, one line each,
without the repeated text of YouTube's rolling captions. ``load_subtitles`` and
``extract_embedded`` return cleaned captions, refusing more than ``max_cues`` cues before any
work that grows with their number; ``clip_to_duration`` fits them to the media they belong to.
"""

from __future__ import annotations

import codecs
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mmdemo.errors import InputError
from mmdemo.media.ffmpeg import input_args, run_ffmpeg
from mmdemo.media.video import probe


@dataclass(frozen=True)
class Caption:
    """One caption line: ``start``/``end`` in seconds, ``text`` stripped of markup."""

    start: float
    end: float
    text: str


# Bitmap subtitle codecs hold pictures of text; they cannot be turned into captions.
_IMAGE_SUBTITLE_CODECS = {"dvd_subtitle", "hdmv_pgs_subtitle", "dvb_subtitle", "xsub", "dvb_teletext"}

_ROLLING_GAP = 0.5  # seconds; a repeated line after a longer pause is said again, not rolled
_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")  # cue settings / SRT X1: Y1: follow
_TAG = re.compile(r"</?[A-Za-z0-9][^<>]*>|\{\\[^{}]*\}")  # <i>, <c.color>, <00:00:01.000>, {\an8}


def _seconds(h: str | None, m: str, s: str, frac: str) -> float:
    return round(int(h or 0) * 3600 + int(m) * 60 + int(s) + int(frac.ljust(3, "0")) / 1000, 3)


def _lines(text: str) -> list[str]:
    """Text lines without tags or entities, whitespace collapsed, empty lines dropped."""
    out = []
    for line in text.splitlines():
        line = " ".join(html.unescape(_TAG.sub("", line)).split())
        if line:
            out.append(line)
    return out


def _parse_cues(text: str) -> list[Caption]:
    """Cue blocks shared by SRT and WebVTT: a timing line, then text up to an empty line.

    Lines outside cues (the WEBVTT header, NOTE/STYLE/REGION blocks, cue ids, SRT counters)
    are skipped. Only a truly empty line ends a cue: YouTube writes lines holding a single
    space inside its cues.
    """
    captions: list[Caption] = []
    start = end = 0.0
    body: list[str] | None = None

    def close() -> None:
        if body is not None and (lines := _lines("\n".join(body))):
            captions.append(Caption(start, end, "\n".join(lines)))

    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if m := _TIMING.match(line):
            if body and body[-1].strip().isdigit():
                body.pop()  # SRT counter of this cue, when the blank line before it is missing
            close()
            g = m.groups()
            start, end, body = _seconds(*g[:4]), _seconds(*g[4:]), []
        elif line == "":
            close()
            body = None
        elif body is not None:
            body.append(line)
    close()
    return captions


def parse_srt(text: str) -> list[Caption]:
    """SubRip cues; ``<i>``/``<font>`` and ``{\\an8}``-style override tags removed."""
    return _parse_cues(text)


def parse_vtt(text: str) -> list[Caption]:
    """WebVTT cues; cue settings, ``<c>``/``<v>`` tags and inline timestamps removed."""
    return _parse_cues(text)


def parse_medvidqa(data: str | bytes | list) -> list[Caption]:
    """MedVidQA/YouTube transcript JSON: a list of ``{"start", "duration", "text"}``
    (``"end"`` is accepted in place of ``"duration"``)."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as e:
            raise InputError(f"Subtitle JSON is not valid JSON ({e.msg} at line {e.lineno}).") from e
    if not isinstance(data, list):
        raise InputError('Subtitle JSON must be a list of {"start", "duration", "text"} objects.')
    captions = []
    for i, item in enumerate(data):
        try:
            start = float(item["start"])
            end = float(item["end"]) if "end" in item else start + float(item["duration"])
            text = str(item["text"])
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(
                f'Subtitle JSON entry {i} needs numeric "start" and "duration" (or "end") and a "text".'
            ) from e
        if lines := _lines(text):
            captions.append(Caption(round(start, 3), round(end, 3), "\n".join(lines)))
    return captions


def _decode(data: bytes) -> str:
    """Text of a subtitle file: UTF-8 (BOM optional) or UTF-16 with a BOM."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise InputError("Subtitle file has a UTF-16 byte-order mark but is not valid UTF-16.") from e
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise InputError(
            f"Subtitle file is not UTF-8 text (byte 0x{data[e.start]:02x} on line {line}). "
            "Save it as UTF-8 and upload it again."
        ) from e
    if "\x00" in text:
        raise InputError("Subtitle file is not UTF-8 text (it contains binary data).")
    return text


def check_cue_count(captions: Sequence[Caption], max_cues: int | None, name: str) -> None:
    """InputError when ``name`` (a file, a track, a transcript) has more than ``max_cues`` cues."""
    if max_cues is not None and len(captions) > max_cues:
        raise InputError(
            f"{name} has {len(captions):,} cues; the limit is {max_cues:,} per video. "
            "Upload the subtitles of this one video (split a longer recording into parts)."
        )


def load_subtitles(path: str | Path, max_mb: float = 5.0, max_cues: int | None = None) -> list[Caption]:
    """Cleaned captions from an .srt, .vtt or MedVidQA .json file (``max_cues``: None = no limit).

    The format is sniffed from the content (a WEBVTT header, JSON brackets, else SRT-style
    cues), so a mislabelled extension still works.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Subtitle file not found: '{path.name}'.")
    size_mb = path.stat().st_size / 1e6
    if size_mb > max_mb:
        raise InputError(f"Subtitle file is {size_mb:.1f} MB; the limit is {max_mb:g} MB.")
    text = _decode(path.read_bytes())
    head = text.lstrip()
    if not head:
        raise InputError(f"Subtitle file '{path.name}' is empty.")
    if head[0] in "[{":
        captions = parse_medvidqa(text)
    elif head.startswith("WEBVTT") or path.suffix.lower() == ".vtt":
        captions = parse_vtt(text)
    else:
        captions = parse_srt(text)
    check_cue_count(captions, max_cues, f"Subtitle file '{path.name}'")
    captions = clean_captions(captions)
    if not captions:
        raise InputError(
            f"No captions found in '{path.name}': expected SRT, WebVTT or MedVidQA JSON "
            "with timed, non-empty text."
        )
    return captions


def extract_embedded(video_path: str | Path, stream: int = 0, max_cues: int | None = None) -> list[Caption]:
    """Cleaned captions of the ``stream``-th subtitle track (mp4 mov_text, mkv srt/ass, ...)."""
    info = probe(video_path)
    tracks = info.subtitle_streams
    if not tracks:
        raise InputError(f"'{info.path.name}' has no embedded subtitle track.")
    if not 0 <= stream < len(tracks):
        raise InputError(
            f"'{info.path.name}' has {len(tracks)} subtitle track(s); there is no track {stream}."
        )
    if tracks[stream].codec in _IMAGE_SUBTITLE_CODECS:
        raise InputError(
            f"Subtitle track {stream} of '{info.path.name}' is image-based ({tracks[stream].codec}); "
            "upload the subtitles as an .srt or .vtt file instead."
        )
    args = [*input_args(info.path), "-map", f"0:s:{stream}", "-f", "srt", "-loglevel", "error", "-"]
    raw = run_ffmpeg(args)
    captions = parse_srt(raw.decode("utf-8", "replace"))
    check_cue_count(captions, max_cues, f"Subtitle track {stream} of '{info.path.name}'")
    captions = clean_captions(captions)
    if not captions:
        raise InputError(f"Subtitle track {stream} of '{info.path.name}' has no captions.")
    return captions


def _repeated_prefix(prev: list[str], cur: list[str]) -> int:
    """Number of leading lines of ``cur`` that repeat the trailing lines of ``prev``."""
    for k in range(min(len(prev), len(cur)), 0, -1):
        if prev[-k:] == cur[:k]:
            return k
    return 0


def clean_captions(captions: list[Caption]) -> list[Caption]:
    """Ordered, disjoint, single-line captions, as retrieval and timelines need them.

    1. markup stripped, empty captions dropped, sorted by start;
    2. rolling captions merged (cues starting within half a second of the previous end):
       leading lines that repeat the previous cue are removed (YouTube shows the last line
       again with the new one), a cue that only repeats it extends it, and a cue that grows
       it word by word replaces it;
    3. cues that start together are joined;
    4. each end is clipped to the next start (never below its own start).
    """
    items = sorted(
        ((c.start, max(c.start, c.end), lines) for c in captions if (lines := _lines(c.text))),
        key=lambda t: (t[0], t[1]),
    )
    merged: list[list] = []  # [start, end, lines]
    for start, end, lines in items:
        if merged and start <= merged[-1][1] + _ROLLING_GAP:
            prev = merged[-1]
            k = _repeated_prefix(prev[2], lines)
            if k == len(lines):
                prev[1] = max(prev[1], end)
                continue
            if k == 0 and " ".join(lines).startswith(" ".join(prev[2]) + " "):
                prev[1], prev[2] = max(prev[1], end), lines
                continue
            if start == prev[0]:
                prev[1], prev[2] = max(prev[1], end), prev[2] + lines[k:]
                continue
            lines = lines[k:]
        merged.append([start, end, lines])
    out = []
    for i, (start, end, lines) in enumerate(merged):
        if i + 1 < len(merged):
            end = max(start, min(end, merged[i + 1][0]))
        out.append(Caption(start, end, " ".join(lines)))
    return out


def _stamp(seconds: float, decimal: str) -> str:
    ms = round(max(0.0, seconds) * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{decimal}{ms % 1000:03d}"


def _cue_text(text: str) -> str:
    """Caption text that cannot end a cue early (an empty line would) or fake a timing line."""
    return "\n".join(line.replace("-->", "->") for line in _lines(text)) or "..."


def to_srt(captions: Sequence[Caption]) -> str:
    """SubRip text: numbered cues, ``HH:MM:SS,mmm`` times."""
    return "\n".join(f"{i}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{_cue_text(c.text)}\n"
                     for i, c in enumerate(captions, 1))


def to_vtt(captions: Sequence[Caption]) -> str:
    """WebVTT text: the header, then cues with ``HH:MM:SS.mmm`` times."""
    cues = "\n".join(f"{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{_cue_text(c.text)}\n" for c in captions)
    return "WEBVTT\n\n" + cues


def parse_rows(rows: Sequence[Sequence]) -> list[Caption]:
    """Captions from (start seconds, end seconds, text) rows, e.g. a transcript table a person edited.

    Rows with no text are dropped; times must be numbers with start <= end.
    """
    captions = []
    for i, row in enumerate(rows, 1):
        if len(row) < 3 or not str(row[2] or "").strip():
            continue
        try:
            start, end = float(row[0]), float(row[1])
        except (TypeError, ValueError) as e:
            raise InputError(f"Transcript row {i}: start and end must be seconds (numbers), got {row[0]!r} and {row[1]!r}.") from e
        if not 0 <= start <= end:
            raise InputError(f"Transcript row {i}: the start ({start:g} s) must be at least 0 and not after the end ({end:g} s).")
        captions.append(Caption(round(start, 3), round(end, 3), " ".join(str(row[2]).split())))
    return captions


def clip_to_duration(captions: Sequence[Caption], duration: float) -> list[Caption]:
    """The captions that start before ``duration``, with times cut to [0, duration]: times
    outside the media would put answers where there is nothing to play."""
    return [Caption(max(c.start, 0.0), min(max(c.end, 0.0), duration), c.text) for c in captions if c.start < duration]
