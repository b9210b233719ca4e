"""Text-only two-stage answer search: the CCGS paper's "Span-Base" pipeline (Table 1, BM25/DPR
+ Span-Base). A first stage picks K videos; an extractive reader (``mmdemo.models.span_qa``)
reads each one's whole transcript and returns character spans, which become times through the
subtitle sentences they touch (start of the first, end of the last).

Ordering, as ``CCGSSearch`` orders CCGS's spans: the K videos by (1 - w) * minmax(first stage)
+ w * minmax(the reader's best span score), each video's spans by the reader, a video's n-th
span paying (n - 1) * ``span_rank_penalty``; videos beyond K keep the first stage's order. The
paper's baselines sort all spans by the reader's logits instead. The reader's scores of
different transcripts do not compare: on the CCGS task's held-out train videos (10 questions,
never dev) w = 1 (the reader's own video order) gave R@1 10 and Rank@1 mIoU 7.6, w = 0 gave
R@1 90 and Rank@1 mIoU 29.2 (the bundled reader), hence w = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmdemo.models.ccgs import span_to_time
from mmdemo.models.span_qa import SpanQA
from mmdemo.retrieval.ccgs_search import distinct
from mmdemo.retrieval.fusion import minmax
from mmdemo.retrieval.corpus_index import Candidate, CorpusIndex


@dataclass(frozen=True)
class SpanQASearchConfig:
    top_videos: int = 5  # K: videos the reader reads per question (as CCGSSearchConfig)
    reader_weight: float = 0.0  # w above; chosen on the held-out train videos (see the module docstring)
    spans_per_video: int = 20  # spans read per video, before near copies are dropped
    span_rank_penalty: float = 0.02  # as in RetrievalConfig: a video's n-th span pays (n - 1) * this
    nms_iou: float = 0.5  # a span overlapping a better one of its video by more than this is a near copy


@dataclass
class SpanQAAnswer:
    videos: list[str]  # every corpus video, best first
    candidates: list[Candidate]  # spans from the top K videos, best first


class SpanQASearch:
    def __init__(self, index: CorpusIndex, reader: SpanQA, method: str = "hybrid",
                 config: SpanQASearchConfig = SpanQASearchConfig()):
        self.index, self.reader, self.method, self.config = index, reader, method, config
        self._captions = {v.video_id: v.captions for v in index.videos}

    def answer(self, question: str, top_spans: int = 10, scores: np.ndarray | None = None) -> SpanQAAnswer:
        """``scores``: the question's first-stage window scores, when the caller already has them."""
        cfg = self.config
        first_stage = self.index.rank_videos(question, self.method, scores=scores)
        shortlist = [video_id for video_id, _ in first_stage[: cfg.top_videos]]
        spans = []
        for video_id in shortlist:
            captions = self._captions[video_id]
            times = [(c.start, c.end) for c in captions]
            read = self.reader.answer_sentences(question, [c.text for c in captions], top_k=cfg.spans_per_video)
            spans.append(distinct([Candidate(video_id, *span_to_time(times, s.first, s.last), s.score) for s in read],
                                  cfg.nms_iou))
        best = np.array([found[0].score for found in spans])  # a transcript always has some span
        blended = (1 - cfg.reader_weight) * minmax(np.array([s for _, s in first_stage[: cfg.top_videos]])) \
            + cfg.reader_weight * minmax(best)
        candidates = [Candidate(span.video_id, span.start, span.end, float(blended[v]) - cfg.span_rank_penalty * rank)
                      for v, found in enumerate(spans) for rank, span in enumerate(found)]
        candidates.sort(key=lambda c: -c.score)
        order = [shortlist[v] for v in np.argsort(-blended, kind="stable")]
        return SpanQAAnswer(order + [video_id for video_id, _ in first_stage[cfg.top_videos :]], candidates[:top_spans])
