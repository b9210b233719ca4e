"""Answer localisation in one video from per-caption relevance and what MedVidQA's spans teach.

1. Each caption gets the relevance of the windows holding it (see ``corpus``), min-max scaled
   within the video and smoothed with a Gaussian in time: answers are long stretches, not single lines.
2. A span of captions i..j scores
       sum_t (r_t - threshold) * slot_t / m(V)        relevant talk gained, in typical answers
     + prior_weight * log p(length | V)               log-normal, median m(V) grows with video length V
     + position_weight * log p(centre / V)            where in a video answers sit
   The two priors are fitted on the 2,855 train + val spans (``mmdemo.retrieval.fit.span_priors``):
   answers are about 27 s in a 2-minute video and 60 s in a 10-minute one, so a short clip gets a
   short span. Dividing the gain by m(V) makes the threshold mean the same in any video length.
3. Spans up to ``max_length_seconds(V)`` are scored with cumulative sums and the top ones are kept
   with non-maximum suppression, so the candidates are different places, not shifted copies.

Both steps only look at neighbouring captions (within the smoothing kernel's reach, within the
longest span), so time grows as captions x neighbours and memory as captions: a long subtitle
file costs linearly more, never quadratically.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from mmdemo.media.subtitles import Caption

SMOOTH_REACH_STDS = 8.0  # Gaussian weights further out are below 1e-13: too small to change a float32 score
BLOCK = 1 << 16  # span scores held at once; bounds working memory whatever the number of captions


@dataclass(frozen=True)
class LocalizerConfig:
    # Span priors from all 2,855 answers of MedVidQA questions/train.json + val.json
    # (python -m mmdemo.retrieval.fit ... span_priors): log(answer seconds) regressed on
    # log(video_length): intercept, slope, residual std (the std without conditioning is 0.796).
    length_log_intercept: float = 1.428
    length_log_slope: float = 0.401
    length_log_std: float = 0.750
    # log(p / uniform) of the answer's centre in each tenth of the video (same 2,855 spans):
    # answers rarely sit in the first or last tenth (add-one counts).
    position_log_odds: tuple[float, ...] = (-1.632, -0.504, 0.026, 0.197, 0.324, 0.383, 0.261, 0.214, 0.186, -1.004)
    # Fitted on the subtitled train questions outside the CCGS task's held-out videos
    # (mmdemo.retrieval.fit), maximising mean IoU of the top span inside the gold video.
    smooth_seconds: float = 0.0  # the 15 s windows already blur enough
    threshold: float = 0.3
    prior_weight: float = 0.3
    position_weight: float = 1.0
    nms_iou: float = 0.0  # fixed: candidates inside one video never overlap
    # Longest span considered: this many log-length stds above the median for the video's length
    # (exp(4 x 0.75) = 20x the median). Bounds the work per caption.
    max_length_stds: float = 4.0

    def log_length_mean(self, duration: float) -> float:
        """Mean log answer length (seconds) in a video ``duration`` seconds long."""
        return self.length_log_intercept + self.length_log_slope * float(np.log(max(duration, 1.0)))

    def max_length_seconds(self, duration: float) -> float:
        return float(np.exp(self.log_length_mean(duration) + self.max_length_stds * self.length_log_std))


@dataclass(frozen=True)
class Span:
    start: float
    end: float
    score: float
    first: int  # caption indices, inclusive
    last: int


@dataclass(frozen=True)
class Timeline:
    """Relevance of each caption of one video, for plotting: caption midpoints and [0, 1] scores."""

    times: np.ndarray
    scores: np.ndarray


def caption_relevance(captions: Sequence[Caption], caption_scores: np.ndarray, config: LocalizerConfig) -> Timeline:
    times = np.array([0.5 * (c.start + c.end) for c in captions], dtype=np.float64)
    scores = np.asarray(caption_scores, dtype=np.float64)
    if len(scores) and scores.max() > scores.min():
        scores = (scores - scores.min()) / (scores.max() - scores.min())
    else:
        scores = np.zeros_like(scores)
    if config.smooth_seconds > 0 and len(scores) > 1:
        order = np.argsort(times, kind="stable")
        smoothed = np.empty_like(scores)
        smoothed[order] = _gaussian_smooth(times[order], scores[order], config.smooth_seconds)
        scores = smoothed
        if scores.max() > scores.min():
            scores = (scores - scores.min()) / (scores.max() - scores.min())
    return Timeline(times, scores.astype(np.float32))


def _gaussian_smooth(times: np.ndarray, values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-weighted mean of ``values`` around each of the sorted ``times``.

    Pairs are visited by index offset, so memory stays O(n); offsets stop once every pair is
    beyond the kernel's reach, so time is O(n x captions within reach).
    """
    total, weight = values.copy(), np.ones_like(values)
    for d in range(1, len(times)):
        gap = times[d:] - times[:-d]
        if gap.min() > SMOOTH_REACH_STDS * sigma:
            break
        w = np.exp(-0.5 * (gap / sigma) ** 2)
        total[d:] += w * values[:-d]
        weight[d:] += w
        total[:-d] += w * values[d:]
        weight[:-d] += w
    return total / weight


def _iou(start: np.ndarray, end: np.ndarray, s: float, e: float) -> np.ndarray:
    inter = np.clip(np.minimum(end, e) - np.maximum(start, s), 0, None)
    union = np.maximum(end, e) - np.minimum(start, s)
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def best_spans(captions: Sequence[Caption], relevance: np.ndarray, config: LocalizerConfig, top_k: int = 10,
               duration: float | None = None) -> list[Span]:
    """The ``top_k`` best spans, best first, overlapping by at most ``nms_iou`` (captions sorted and disjoint).

    ``duration``: the video's length in seconds, which sets the priors (default: the last caption's end).

    Each start caption keeps its best live span; picking one only rescores the starts whose
    best it suppressed. Ties go to the earliest (first, last), as a scan of all spans would.
    """
    n = len(captions)
    if n == 0 or top_k <= 0:
        return []
    starts = np.array([c.start for c in captions], dtype=np.float64)
    ends = np.array([c.end for c in captions], dtype=np.float64)
    # Each caption owns the time until the next one starts, so gaps count toward span length.
    slots = np.append(np.diff(starts), ends[-1] - starts[-1]).clip(min=0)
    duration = float(duration if duration and duration > 0 else max(ends[-1], 1.0))
    log_mean = config.log_length_mean(duration)
    typical = float(np.exp(log_mean))
    gain = np.concatenate([[0.0], np.cumsum((np.asarray(relevance, dtype=np.float64) - config.threshold) * slots)]) / typical
    position = np.asarray(config.position_log_odds, dtype=np.float64)
    rows = np.arange(n)
    # Spans from caption i end before stop[i]: at most max_length_seconds, but always one caption.
    stop = np.maximum(np.searchsorted(ends, starts + config.max_length_seconds(duration), side="right"), rows + 1)
    width = int((stop - rows).max())
    picked: list[Span] = []

    def rescore(firsts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Best live span from each of ``firsts``: (score, last caption); -inf when none is left."""
        score, last = np.full(len(firsts), -np.inf), firsts.copy()
        step = max(1, BLOCK // width)
        for a in range(0, len(firsts), step):
            first = firsts[a : a + step, None]
            end = np.minimum(first + np.arange(width), n - 1)
            span_start, span_end = starts[first], ends[end]
            block = gain[end + 1] - gain[first]
            if config.prior_weight:  # the logarithm is most of the work; skip it when it counts for nothing
                z = (np.log(np.maximum(span_end - span_start, 1e-3)) - log_mean) / config.length_log_std
                block -= config.prior_weight * 0.5 * z**2
            if config.position_weight:
                tenth = np.clip(0.5 * (span_start + span_end) / duration * len(position), 0, len(position) - 1)
                block += config.position_weight * position[tenth.astype(np.int64)]
            dead = first + np.arange(width) >= stop[first]
            for p in picked:
                dead |= (_iou(span_start, span_end, p.start, p.end) > config.nms_iou) | ((first == p.first) & (end == p.last))
            block[dead] = -np.inf
            pick = (np.arange(len(block)), block.argmax(1))
            score[a : a + step], last[a : a + step] = block[pick], end[pick]
        return score, last

    score, last = rescore(rows)
    while len(picked) < top_k:
        i = int(np.argmax(score))
        if score[i] == -np.inf:
            break
        picked.append(Span(float(starts[i]), float(ends[last[i]]), float(score[i]), i, int(last[i])))
        stale = (_iou(starts, ends[last], picked[-1].start, picked[-1].end) > config.nms_iou) | (rows == i)
        stale = np.flatnonzero(stale & (score > -np.inf))
        score[stale], last[stale] = rescore(stale)
    return picked
