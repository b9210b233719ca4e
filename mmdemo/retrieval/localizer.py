"""Zero-shot answer localisation in one video from per-caption relevance.

1. Each caption gets the relevance of the windows holding it (see ``corpus``), min-max scaled
   within the video and smoothed with a Gaussian in time: answers are long stretches, not single lines.
2. A span of captions i..j scores  sum_t (r_t - threshold) * slot_t  (seconds of relevant
   talk gained; the max-subarray objective)  +  prior_weight * log p(length), where p is a
   log-normal over answer lengths in seconds. Without the prior the best span is "everything
   above threshold"; MedVidQA answers have a typical length (median about 50 s).
3. All spans are scored at once (n^2 with cumulative sums) and the top ones are kept with
   non-maximum suppression, so the candidates are different places, not shifted copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from mmdemo.media.subtitles import Caption


@dataclass(frozen=True)
class LocalizerConfig:
    # Answer length prior: mean and std of log(answer_end_second - answer_start_second) over
    # all 2,710 answers in MedVidQA questions/train.json (mmdemo.retrieval.fit.length_prior).
    length_log_mean: float = 3.85
    length_log_std: float = 0.797
    # Grid-searched on the 59 train questions with subtitles (mmdemo.retrieval.fit), maximising
    # mean IoU of the top span inside the gold video. Dev data was never used.
    smooth_seconds: float = 5.0
    threshold: float = 0.2
    prior_weight: float = 0.0  # the train fit found the prior no help on top of the threshold
    nms_iou: float = 0.5  # fixed: candidates overlapping a better one by more than this are dropped


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
        weights = np.exp(-0.5 * ((times[:, None] - times[None, :]) / config.smooth_seconds) ** 2)
        scores = weights @ scores / weights.sum(1)
        if scores.max() > scores.min():
            scores = (scores - scores.min()) / (scores.max() - scores.min())
    return Timeline(times, scores.astype(np.float32))


def _iou(start: np.ndarray, end: np.ndarray, s: float, e: float) -> np.ndarray:
    inter = np.clip(np.minimum(end, e) - np.maximum(start, s), 0, None)
    union = np.maximum(end, e) - np.minimum(start, s)
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def best_spans(captions: Sequence[Caption], relevance: np.ndarray, config: LocalizerConfig, top_k: int = 10) -> list[Span]:
    """The ``top_k`` best non-overlapping-ish spans, best first."""
    n = len(captions)
    if n == 0 or top_k <= 0:
        return []
    starts = np.array([c.start for c in captions], dtype=np.float64)
    ends = np.array([c.end for c in captions], dtype=np.float64)
    # Each caption owns the time until the next one starts, so gaps count toward span length.
    slots = np.append(np.diff(starts), ends[-1] - starts[-1]).clip(min=0)
    gain = np.concatenate([[0.0], np.cumsum((np.asarray(relevance, dtype=np.float64) - config.threshold) * slots)])
    first, last = np.triu_indices(n)
    span_start, span_end = starts[first], ends[last]
    length = np.maximum(span_end - span_start, 1e-3)
    z = (np.log(length) - config.length_log_mean) / config.length_log_std
    score = gain[last + 1] - gain[first] - config.prior_weight * 0.5 * z**2
    out: list[Span] = []
    alive = np.ones(len(score), dtype=bool)
    while len(out) < top_k and alive.any():
        k = int(np.argmax(np.where(alive, score, -np.inf)))
        out.append(Span(float(span_start[k]), float(span_end[k]), float(score[k]), int(first[k]), int(last[k])))
        alive &= _iou(span_start, span_end, span_start[k], span_end[k]) <= config.nms_iou
        alive[k] = False
    return out
