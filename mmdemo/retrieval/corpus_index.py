"""CorpusIndex: rank videos for a question and localise answer spans across the whole corpus.

Every caption window is scored once per question (BM25, dense cosine, or their fusion);
that one score vector serves both jobs:
- a video's score is the mean of its ``video_top_m`` best windows (m=1 is plain max);
- inside each of the best videos the localizer turns the window scores into spans.
Candidates from different videos are merged by  video score - span_rank_penalty * (rank of
the span inside its video - 1), with video scores min-max scaled over the corpus, so a strong
second span in the best video can outrank the first span of a weak video. Each candidate also
carries ``probability``: the calibrated chance that its video holds the answer (``confidence``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from mmdemo.errors import InputError
from mmdemo.models.encoders import TextEncoder
from mmdemo.retrieval.bm25 import BM25Index
from mmdemo.retrieval.confidence import CalibrationConfig, probability, video_features
from mmdemo.retrieval.corpus import Video, Window, corpus_windows, spread_to_captions
from mmdemo.retrieval.dense import DenseIndex
from mmdemo.retrieval.fusion import minmax, weighted_sum
from mmdemo.retrieval.localizer import LocalizerConfig, Timeline, best_spans, caption_relevance

METHODS = ("bm25", "dense", "hybrid")


@dataclass(frozen=True)
class RetrievalConfig:
    # Grid-searched on the 59 MedVidQA train questions whose 29 videos have subtitles
    # (mmdemo.retrieval.fit: window and fusion for video MRR, penalty for Rank@10 mIoU).
    # Dev data was never used to choose them.
    window_seconds: float = 15.0  # window length; windows step by half of it
    dense_weight: float = 0.5  # hybrid = (1 - w) * minmax(bm25) + w * minmax(cosine)
    video_top_m: int = 5  # video score = mean of its m best windows
    span_rank_penalty: float = 0.02  # see module docstring
    localizer: LocalizerConfig = field(default_factory=LocalizerConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)


@dataclass(frozen=True)
class Candidate:
    video_id: str
    start: float  # seconds
    end: float
    score: float  # higher is better; comparable across videos of one query only
    probability: float | None = None  # calibrated P(this video holds the answer); None without a text encoder


class CorpusIndex:
    """Built once per corpus; queries are read-only, so one index can serve many users."""

    def __init__(
        self,
        videos: Sequence[Video],
        windows: Sequence[Window],
        bm25: BM25Index,
        dense: DenseIndex | None,
        encoder: TextEncoder | None,
        config: RetrievalConfig,
    ) -> None:
        self.videos = list(videos)
        self.windows = list(windows)
        self.bm25 = bm25
        self.dense = dense
        self.encoder = encoder
        self.config = config
        self._by_id = {v.video_id: i for i, v in enumerate(self.videos)}
        owner = np.array([w.video for w in self.windows], dtype=np.int64)
        # windows are stored video by video, so each video is one contiguous slice
        bounds = np.searchsorted(owner, np.arange(len(self.videos) + 1))
        self.slices = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    @classmethod
    def build(
        cls, videos: Sequence[Video], encoder: TextEncoder | None = None, config: RetrievalConfig = RetrievalConfig()
    ) -> "CorpusIndex":
        """Index captions; without an encoder only ``method="bm25"`` is available."""
        videos = [v for v in videos if v.captions]
        if not videos:
            raise InputError("the corpus has no video with captions to search")
        windows = corpus_windows(videos, config.window_seconds)
        texts = [w.text for w in windows]
        dense = DenseIndex(encoder.encode(texts)) if encoder is not None else None
        return cls(videos, windows, BM25Index(texts), dense, encoder, config)

    @property
    def video_ids(self) -> list[str]:
        return [v.video_id for v in self.videos]

    def window_scores(self, question: str, method: str = "hybrid", cosines: np.ndarray | None = None) -> np.ndarray:
        """Relevance of every window to the question (higher is better).

        ``cosines``: this question's ``window_cosines``, when the caller already has them (the
        question is then not encoded again).
        """
        if method not in METHODS:
            raise InputError(f"unknown search method {method!r}; choose one of {', '.join(METHODS)}")
        if not question or not question.strip():
            raise InputError("the question is empty")
        if method == "bm25":
            return self.bm25.scores(question)
        cosine = self.window_cosines(question) if cosines is None else cosines
        if method == "dense":
            return cosine
        return weighted_sum(self.bm25.scores(question), cosine, self.config.dense_weight)

    def window_cosines(self, question: str) -> np.ndarray:
        """Raw MiniLM cosine of the question and every window: comparable across questions, unlike fused scores."""
        if self.dense is None or self.encoder is None:
            raise InputError("this search needs a text encoder; this index was built without one")
        return self.dense.scores(self.encoder.encode([question])[0])

    def video_probabilities(self, scores: np.ndarray, cosines: np.ndarray) -> np.ndarray:
        """Calibrated P(video holds the answer) per video, from ``window_scores`` and ``window_cosines``."""
        best_cosine = np.array([cosines[s].max() for s in self.slices])
        return probability(video_features(self.video_scores(scores), best_cosine), self.config.calibration)

    def video_scores(self, scores: np.ndarray, top_m: int | None = None) -> np.ndarray:
        """Each video's score: the mean of its ``top_m`` best windows (default: the config's)."""
        m = top_m or self.config.video_top_m
        return np.array([np.sort(scores[s])[::-1][:m].mean() for s in self.slices], dtype=np.float32)

    def rank_videos(self, question: str, method: str = "hybrid", k: int | None = None,
                    scores: np.ndarray | None = None) -> list[tuple[str, float]]:
        """(video_id, score) best first; all videos when k is None (``scores`` as in ``locate``)."""
        video_scores = self.video_scores(self.window_scores(question, method) if scores is None else scores)
        order = np.argsort(-video_scores, kind="stable")[:k]
        return [(self.videos[i].video_id, float(video_scores[i])) for i in order]

    def locate(self, question: str, method: str = "hybrid", top_videos: int = 10, top_spans: int = 10,
               scores: np.ndarray | None = None, cosines: np.ndarray | None = None) -> list[Candidate]:
        """Answer spans from the ``top_videos`` best videos, ``top_spans`` each, best first.

        ``scores`` / ``cosines``: this question's ``window_scores`` / ``window_cosines``, when the
        caller already has them. Without a text encoder candidates carry no probability.
        """
        if cosines is None and self.encoder is not None and self.dense is not None:
            cosines = self.window_cosines(question)
        scores = self.window_scores(question, method, cosines) if scores is None else scores
        chance = self.video_probabilities(scores, cosines) if cosines is not None else None
        video_scores = minmax(self.video_scores(scores))
        candidates = []
        for v in np.argsort(-video_scores, kind="stable")[:top_videos]:
            video = self.videos[v]
            timeline = self._timeline(v, scores)
            spans = best_spans(video.captions, timeline.scores, self.config.localizer, top_spans, video.duration)
            for rank, span in enumerate(spans):
                score = float(video_scores[v]) - self.config.span_rank_penalty * rank
                p = float(chance[v]) if chance is not None else None
                candidates.append(Candidate(video.video_id, span.start, span.end, score, p))
        return sorted(candidates, key=lambda c: -c.score)

    def timeline(self, question: str, video_id: str, method: str = "hybrid", scores: np.ndarray | None = None) -> Timeline:
        """Per-caption relevance of one video, for the timeline plot (``scores`` as in ``locate``)."""
        if video_id not in self._by_id:
            raise InputError(f"video {video_id!r} is not in the corpus")
        return self._timeline(self._by_id[video_id], self.window_scores(question, method) if scores is None else scores)

    def _timeline(self, v: int, scores: np.ndarray) -> Timeline:
        captions = self.videos[v].captions
        per_caption = spread_to_captions(self.windows[self.slices[v]], scores[self.slices[v]], len(captions))
        return caption_relevance(captions, per_caption, self.config.localizer)
