"""Refit the free constants of RetrievalConfig / LocalizerConfig on MedVidQA *train* data.

    python -m mmdemo.retrieval.fit --questions questions/train.json --subtitles subtitles/train

prints the fitted values as JSON; copy them into the dataclass defaults. Stages, each a small
grid search on the questions whose video has captions (59 in the release):
1. window length, hybrid fusion weight and video top-m: video MRR of the hybrid method;
2. smoothing, threshold, prior weight: mean IoU of the best span inside the gold video;
3. span-rank penalty: Rank@10 mIoU over the whole corpus.
The length prior is fitted on every train answer. Never point this at dev or test data.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import asdict, replace
from typing import Sequence

import numpy as np

from mmdemo.metrics import best_iou, mrr, temporal_iou
from mmdemo.models.encoders import TextEncoder
from mmdemo.retrieval.corpus import Video, spread_to_captions
from mmdemo.retrieval.fusion import weighted_sum
from mmdemo.retrieval.index import CorpusIndex, RetrievalConfig
from mmdemo.retrieval.localizer import LocalizerConfig, best_spans, caption_relevance

WINDOW_SECONDS = (15.0, 30.0, 60.0)
DENSE_WEIGHTS = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))
TOP_MS = (1, 2, 3, 5)
SMOOTHS = (0.0, 5.0, 10.0, 20.0)
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
PRIOR_WEIGHTS = (0.0, 1.0, 3.0, 10.0, 30.0, 100.0)
PENALTIES = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def length_prior(questions: Sequence[dict]) -> tuple[float, float]:
    """Mean and std of log answer length in seconds (lengths below 1 s count as 1 s)."""
    logs = np.log([max(1.0, q["answer_end_second"] - q["answer_start_second"]) for q in questions])
    return float(logs.mean()), float(logs.std())


def _video_mrr(index: CorpusIndex, questions: Sequence[dict], scores: list[np.ndarray], top_m: int) -> float:
    ranks = []
    for q, s in zip(questions, scores):
        per_video = index.video_scores(s, top_m)
        gold = per_video[index.video_ids.index(q["video_id"])]
        ranks.append(1 + int((per_video > gold).sum()))
    return mrr(ranks)


def fit(questions: Sequence[dict], videos: Sequence[Video], encoder: TextEncoder, log=print) -> RetrievalConfig:
    mu, sigma = length_prior(questions)
    ids = {v.video_id for v in videos}
    qs = [q for q in questions if q["video_id"] in ids]
    config = RetrievalConfig(localizer=LocalizerConfig(length_log_mean=round(mu, 3), length_log_std=round(sigma, 3)))

    best = (-1.0, None)
    for hw in WINDOW_SECONDS:
        index = CorpusIndex.build(videos, encoder, replace(config, window_seconds=hw))
        bm25 = [index.window_scores(q["question"], "bm25") for q in qs]
        dense = [index.window_scores(q["question"], "dense") for q in qs]
        for w, m in itertools.product(DENSE_WEIGHTS, TOP_MS):
            value = _video_mrr(index, qs, [weighted_sum(b, d, w) for b, d in zip(bm25, dense)], m)
            if value > best[0]:
                best = (value, (hw, float(w), m))
        log(f"window_seconds={hw}: best so far MRR={best[0]:.2f} at {best[1]}")
    hw, w, m = best[1]
    config = replace(config, window_seconds=hw, dense_weight=w, video_top_m=m)
    index = CorpusIndex.build(videos, encoder, config)
    scores = [index.window_scores(q["question"], "hybrid") for q in qs]

    best = (-1.0, None)
    for smooth, thr, pw in itertools.product(SMOOTHS, THRESHOLDS, PRIOR_WEIGHTS):
        loc = replace(config.localizer, smooth_seconds=smooth, threshold=thr, prior_weight=pw)
        ious = []
        for q, s in zip(qs, scores):
            v = index.video_ids.index(q["video_id"])
            video = index.videos[v]
            sl = index.slices[v]
            per_caption = spread_to_captions(index.windows[sl], s[sl], len(video.captions))
            timeline = caption_relevance(video.captions, per_caption, loc)
            span = best_spans(video.captions, timeline.scores, loc, 1)[0]
            ious.append(temporal_iou((span.start, span.end), (q["answer_start_second"], q["answer_end_second"])))
        if np.mean(ious) > best[0]:
            best = (float(np.mean(ious)), loc)
    log(f"localizer: gold-video mIoU={100 * best[0]:.2f} with {best[1]}")
    config = replace(config, localizer=best[1])

    best = (-1.0, None)
    for penalty in PENALTIES:
        trial = CorpusIndex(index.videos, index.windows, index.bm25, index.dense, encoder, replace(config, span_rank_penalty=penalty))
        ious = []
        for q in qs:
            cands = trial.locate(q["question"], "hybrid", top_videos=20, top_spans=10)
            gold = (q["video_id"], q["answer_start_second"], q["answer_end_second"])
            ious.append(best_iou([(c.video_id, c.start, c.end) for c in cands], gold, 10))
        if np.mean(ious) > best[0]:
            best = (float(np.mean(ious)), penalty)
    log(f"span_rank_penalty={best[1]}: Rank@10 mIoU={100 * best[0]:.2f}")
    return replace(config, span_rank_penalty=best[1])


def main(argv: Sequence[str] | None = None) -> int:
    from mmdemo.config import set_offline_environment
    from mmdemo.evaluate import load_questions
    from mmdemo.models.encoders import TextEncoderConfig
    from mmdemo.retrieval.corpus import load_medvidqa_corpus

    parser = argparse.ArgumentParser(prog="python -m mmdemo.retrieval.fit", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", required=True, help="MedVidQA questions/train.json")
    parser.add_argument("--subtitles", required=True, action="append", help="subtitles/train; repeatable")
    parser.add_argument("--text-encoder", default="minilm")
    args = parser.parse_args(argv)
    set_offline_environment()
    encoder = TextEncoder.from_config(TextEncoderConfig(name=args.text_encoder))
    config = fit(load_questions(args.questions), load_medvidqa_corpus(args.subtitles), encoder,
                 log=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(json.dumps(asdict(config)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
