"""Two-stage answer search: a cheap first stage picks K videos, CCGS scores all their spans jointly.

CCGS reads the question together with every subtitle sentence, so it cannot be run over a whole
corpus per question; the paper's Table 1 pipelines do the same (BM25/DPR, then a localizer).
Because CCGS's Loss2 normalises span scores over several videos at once, the spans of the K
videos are ranked against each other directly, and a video's CCGS score (its best span) reorders
the first stage's top K. Videos beyond K keep the first stage's order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mmdemo.metrics import temporal_iou
from mmdemo.models.ccgs import CCGS, VideoInput, rank_spans, video_scores
from mmdemo.retrieval.index import Candidate, CorpusIndex

NMS_IOU = 0.5  # a span overlapping a better one of the same video by more than this is a near copy


@dataclass
class CCGSAnswer:
    videos: list[str]  # every corpus video, best first
    candidates: list[Candidate]  # spans from the top K videos, best first
    matrices: dict[str, np.ndarray]  # video_id -> its (r, r) global-span matrix (masked entries -inf)


class CCGSSearch:
    def __init__(self, index: CorpusIndex, model: CCGS, method: str = "hybrid", top_videos: int = 5):
        self.index, self.model, self.method, self.top_videos = index, model, method, top_videos
        self._inputs = {v.video_id: VideoInput.from_captions(v.captions, video_id=v.video_id) for v in index.videos}

    @torch.inference_mode()
    def answer(self, question: str, top_spans: int = 10, scores: np.ndarray | None = None) -> CCGSAnswer:
        """``scores``: the question's first-stage window scores, when the caller already has them."""
        first_stage = [video_id for video_id, _ in self.index.rank_videos(question, self.method, scores=scores)]
        shortlist = first_stage[: self.top_videos]
        inputs = [self._inputs[video_id] for video_id in shortlist]
        matrices = []
        for start in range(0, len(inputs), 4):  # a few videos per forward bounds peak memory
            chunk = inputs[start : start + 4]
            output = self.model(self.model.prepare([question], [chunk]))
            matrices += output.matrices(0)
        reranked = [shortlist[i] for i in np.argsort(-np.asarray(video_scores(matrices)), kind="stable")]
        spans = rank_spans(matrices, k=top_spans * 20, times=[v.times for v in inputs])
        candidates = distinct([Candidate(shortlist[s.video], s.start_time, s.end_time, s.score) for s in spans])[:top_spans]
        plain = {vid: m.float().masked_fill(m < -1e8, float("-inf")).cpu().numpy() for vid, m in zip(shortlist, matrices)}
        return CCGSAnswer(reranked + first_stage[self.top_videos :], candidates, plain)


def distinct(candidates: list[Candidate]) -> list[Candidate]:
    """Greedy non-maximum suppression: the best span of each place, not its shifted copies."""
    kept: list[Candidate] = []
    for c in candidates:
        if all(k.video_id != c.video_id or temporal_iou((k.start, k.end), (c.start, c.end)) <= NMS_IOU for k in kept):
            kept.append(c)
    return kept
