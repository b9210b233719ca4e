"""A searchable corpus: videos with their captions, cut into overlapping caption windows.

A window holds the captions whose midpoint falls in ``[t, t + seconds)``, for t stepping by
half a window, so every caption sits in (about) two windows. Windows are the unit that search
scores: long enough that a short caption ("you", "[Music]") gets context and that an encoder
sees a whole instruction, and few enough (one per half window) to embed a corpus on a CPU.
A caption's relevance is the mean score of the windows that hold it (``spread_to_captions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from mmdemo.media.subtitles import Caption


@dataclass(frozen=True)
class Video:
    video_id: str
    captions: tuple[Caption, ...]  # sorted, disjoint
    media_path: Path | None = None
    title: str = ""
    length: float | None = None  # the media's length in seconds, when known (an upload)

    @property
    def duration(self) -> float:
        """The video's length: the media's when known, else the last caption's end."""
        if self.length:
            return float(self.length)
        return self.captions[-1].end if self.captions else 0.0


@dataclass(frozen=True)
class Window:
    """Captions ``first..last`` (inclusive) of video number ``video`` in the corpus list."""

    video: int
    first: int
    last: int
    text: str


def caption_windows(captions: Sequence[Caption], seconds: float) -> list[tuple[int, int]]:
    """(first, last) caption ranges of windows ``seconds`` long with a stride of ``seconds / 2``."""
    if not captions:
        return []
    mids = np.array([0.5 * (c.start + c.end) for c in captions])
    out: list[tuple[int, int]] = []
    t = captions[0].start
    while t <= mids[-1]:
        first, stop = np.searchsorted(mids, [t, t + seconds])
        if stop > first and (not out or out[-1] != (first, stop - 1)):
            out.append((int(first), int(stop - 1)))
        elif stop == first:  # a silence: jump over its empty windows, so hours of it cost one step
            t += seconds / 2 * max(0.0, np.floor((mids[first] - t - seconds) / (seconds / 2)) - 1)
        t += seconds / 2
    return out


def corpus_windows(videos: Sequence[Video], seconds: float) -> list[Window]:
    """All windows of all videos, video by video (so each video is one contiguous slice)."""
    return [
        Window(v, first, last, " ".join(c.text for c in video.captions[first : last + 1]))
        for v, video in enumerate(videos)
        for first, last in caption_windows(video.captions, seconds)
    ]


def spread_to_captions(windows: Sequence[Window], scores: np.ndarray, n_captions: int) -> np.ndarray:
    """Per-caption score: mean over the windows of one video that contain the caption."""
    total = np.zeros(n_captions + 1)
    count = np.zeros(n_captions + 1)
    for w, s in zip(windows, scores):
        total[w.first] += s
        total[w.last + 1] -= s
        count[w.first] += 1
        count[w.last + 1] -= 1
    total, count = np.cumsum(total)[:-1], np.cumsum(count)[:-1]
    return np.where(count > 0, total / np.maximum(count, 1), 0.0).astype(np.float32)
