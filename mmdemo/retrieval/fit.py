"""Refit the free constants of RetrievalConfig / LocalizerConfig / CalibrationConfig on MedVidQA *train* data.

    python -m mmdemo.retrieval.fit --questions questions/train.json --questions questions/val.json \\
        --subtitles subtitles/train --held-out runs/ccgs-val

prints the fitted values as JSON; copy them into the dataclass defaults. ``--held-out`` is the
CCGS task's held-out split (``python -m training.tasks.ccgs --out DIR``): its videos' questions are
never fitted on, only scored, to choose between localizers. Stages:
0. span priors (length given video length, position) from every answer span of the questions files;
1. window length, hybrid fusion weight and video top-m: video MRR of the hybrid method;
2. smoothing, threshold, prior weights: mean IoU of the best span inside the gold video;
3. span-rank penalty: Rank@10 mIoU over the whole corpus;
4. calibration: logistic P(right video) over (question, video) pairs, and the refusal threshold.
Stages 1-4 use the subtitled questions outside the held-out videos. Never point this at dev or test data.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from mmdemo.metrics import best_iou, mrr, temporal_iou
from mmdemo.models.encoders import TextEncoder
from mmdemo.retrieval.confidence import CalibrationConfig, probability, video_features
from mmdemo.retrieval.corpus import Video, spread_to_captions
from mmdemo.retrieval.fusion import weighted_sum
from mmdemo.retrieval.corpus_index import CorpusIndex, RetrievalConfig
from mmdemo.retrieval.localizer import LocalizerConfig, best_spans, caption_relevance

WINDOW_SECONDS = (15.0, 30.0, 60.0)
DENSE_WEIGHTS = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))
TOP_MS = (1, 2, 3, 5)
SMOOTHS = (0.0, 5.0, 10.0, 20.0)
THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
PRIOR_WEIGHTS = (0.0, 0.3, 1.0, 3.0, 10.0, 30.0)
POSITION_WEIGHTS = (0.0, 0.1, 0.3, 1.0)
PENALTIES = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
POSITION_BINS = 10
MIN_LOG_STD = 0.05  # a length prior fitted on identical answers would otherwise allow one length only
MAX_FALSE_REFUSALS = 0.05  # refusal threshold: refuse at most this share of the fitting questions


def span_priors(questions: Sequence[dict]) -> dict:
    """Length given video length (least squares of log answer seconds on log video seconds, and the
    residual std) and log(p / uniform) of the answer centre per tenth of the video; answers below
    1 s count as 1 s. Records without ``video_length`` count with their answer's end as the length."""
    length = np.array([max(1.0, q["answer_end_second"] - q["answer_start_second"]) for q in questions])
    video = np.array([max(float(q.get("video_length") or q["answer_end_second"]), 1.0) for q in questions])
    X = np.stack([np.ones_like(video), np.log(video)], axis=1)
    coef, *_ = np.linalg.lstsq(X, np.log(length), rcond=None)
    resid = np.log(length) - X @ coef
    centre = np.array([q["answer_start_second"] for q in questions]) + length / 2
    counts = np.histogram(np.clip(centre / video, 0, 1), bins=POSITION_BINS, range=(0, 1))[0] + 1.0  # add-one: no empty bin
    odds = np.log(counts / counts.sum() * POSITION_BINS)
    return {"length_log_intercept": round(float(coef[0]), 3), "length_log_slope": round(float(coef[1]), 3),
            "length_log_std": round(max(float(resid.std()), MIN_LOG_STD), 3), "position_log_odds": tuple(round(float(x), 3) for x in odds)}


def _video_mrr(index: CorpusIndex, questions: Sequence[dict], scores: list[np.ndarray], top_m: int) -> float:
    ranks = []
    for q, s in zip(questions, scores):
        per_video = index.video_scores(s, top_m)
        gold = per_video[index.video_ids.index(q["video_id"])]
        ranks.append(1 + int((per_video > gold).sum()))
    return mrr(ranks)


def gold_video_span(index: CorpusIndex, question: dict, scores: np.ndarray, loc: LocalizerConfig) -> tuple[float, float]:
    """The localizer's best span inside the question's own video."""
    v = index.video_ids.index(question["video_id"])
    video, sl = index.videos[v], index.slices[v]
    timeline = caption_relevance(video.captions, spread_to_captions(index.windows[sl], scores[sl], len(video.captions)), loc)
    span = best_spans(video.captions, timeline.scores, loc, 1, video.duration)[0]
    return span.start, span.end


def window_baseline_span(index: CorpusIndex, question: dict, scores: np.ndarray, loc: LocalizerConfig) -> tuple[float, float]:
    """Issue 15's trivial baseline: the best window's centre, given the median answer length for the video's length."""
    v = index.video_ids.index(question["video_id"])
    video, sl = index.videos[v], index.slices[v]
    w = index.windows[sl][int(np.argmax(scores[sl]))]
    centre = 0.5 * (video.captions[w.first].start + video.captions[w.last].end)
    half = 0.5 * float(np.exp(loc.log_length_mean(video.duration)))
    start = max(0.0, centre - half)
    return start, min(video.duration, start + 2 * half)


def _gold(q: dict) -> tuple[float, float]:
    return float(q["answer_start_second"]), float(q["answer_end_second"])


def fit_calibration(index: CorpusIndex, questions: Sequence[dict]) -> CalibrationConfig:
    """Logistic P(right video) on every (question, video) pair, then the refusal threshold."""
    from sklearn.linear_model import LogisticRegression

    features, labels, best_rows = [], [], []
    for q in questions:
        scores, cosines = index.window_scores(q["question"], "hybrid"), index.window_cosines(q["question"])
        rows = video_features(index.video_scores(scores), np.array([cosines[s].max() for s in index.slices]))
        features.append(rows)
        labels.append(np.array([vid == q["video_id"] for vid in index.video_ids]))
        best_rows.append(rows[int(np.argmax(index.video_scores(scores)))])
    model = LogisticRegression(C=10.0).fit(np.concatenate(features), np.concatenate(labels))
    config = CalibrationConfig(round(float(model.intercept_[0]), 3), *(round(float(w), 3) for w in model.coef_[0]))
    best = probability(np.array(best_rows), config)
    threshold = float(np.floor(np.quantile(best, MAX_FALSE_REFUSALS) * 100) / 100)
    return replace(config, refuse_below=threshold)


def held_out_report(index: CorpusIndex, questions: Sequence[dict], configs: dict[str, RetrievalConfig]) -> dict:
    """Gold-video and whole-corpus localisation of each config, plus the window baseline, on held-out questions."""
    out = {}
    for name, config in configs.items():
        trial = CorpusIndex(index.videos, index.windows, index.bm25, index.dense, index.encoder, config)
        gold_ious, top_ious, refused = [], [], 0
        for q in questions:
            cosines = trial.window_cosines(q["question"])
            scores = trial.window_scores(q["question"], "hybrid", cosines)
            gold_ious.append(temporal_iou(gold_video_span(trial, q, scores, config.localizer), _gold(q)))
            top = trial.locate(q["question"], "hybrid", top_videos=1, top_spans=1, scores=scores, cosines=cosines)[0]
            top_ious.append(temporal_iou((top.start, top.end), _gold(q)) if top.video_id == q["video_id"] else 0.0)
            refused += top.probability < config.calibration.refuse_below
        out[name] = _summary(gold_ious, top_ious) | {"refused": round(100 * refused / max(1, len(questions)), 1)}
    base = RetrievalConfig().localizer
    ious = [temporal_iou(window_baseline_span(index, q, index.window_scores(q["question"], "hybrid"), base), _gold(q))
            for q in questions]
    out["15 s window + median length (gold video only)"] = _summary(ious, None)
    return out


def _summary(gold: list[float], top: list[float] | None) -> dict:
    row = {"n": len(gold), "gold-video IoU>=0.5": round(100 * float(np.mean(np.array(gold) >= 0.5)), 1),
           "gold-video mIoU": round(100 * float(np.mean(gold)), 1)}
    if top is not None:
        row |= {"Rank@1 IoU>=0.5": round(100 * float(np.mean(np.array(top) >= 0.5)), 1),
                "Rank@1 mIoU": round(100 * float(np.mean(top)), 1)}
    return row


def fit(questions: Sequence[dict], videos: Sequence[Video], encoder: TextEncoder, log=print,
        held_out: frozenset[str] = frozenset()) -> RetrievalConfig:
    """Fitted constants; questions on ``held_out`` videos count only towards the span priors."""
    ids = {v.video_id for v in videos} - set(held_out)
    qs = [q for q in questions if q["video_id"] in ids]
    videos = [v for v in videos if v.video_id in ids]
    config = RetrievalConfig(localizer=LocalizerConfig(**span_priors(questions)))

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
    for smooth, thr, pw, qw in itertools.product(SMOOTHS, THRESHOLDS, PRIOR_WEIGHTS, POSITION_WEIGHTS):
        loc = replace(config.localizer, smooth_seconds=smooth, threshold=thr, prior_weight=pw, position_weight=qw)
        value = float(np.mean([temporal_iou(gold_video_span(index, q, s, loc), _gold(q)) for q, s in zip(qs, scores)]))
        if value > best[0]:
            best = (value, loc)
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
    config = replace(config, span_rank_penalty=best[1])
    if encoder is not None:
        config = replace(config, calibration=fit_calibration(index, qs))
        log(f"calibration: {config.calibration}")
    return config


def main(argv: Sequence[str] | None = None) -> int:
    from mmdemo.config import set_offline_environment
    from mmdemo.data.medvidqa import load_medvidqa_corpus, load_questions
    from mmdemo.models.encoders import TextEncoderConfig

    parser = argparse.ArgumentParser(prog="python -m mmdemo.retrieval.fit", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", required=True, action="append",
                        help="MedVidQA questions/train.json (and val.json: all spans feed the priors); repeatable")
    parser.add_argument("--subtitles", required=True, action="append", help="subtitles/train; repeatable")
    parser.add_argument("--held-out", type=Path,
                        help="the CCGS task's held-out split (python -m training.tasks.ccgs --out DIR): scored, never fitted")
    parser.add_argument("--text-encoder", default="minilm")
    args = parser.parse_args(argv)
    set_offline_environment()
    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    encoder = TextEncoder.from_config(TextEncoderConfig(name=args.text_encoder))
    questions = [q for path in args.questions for q in load_questions(path)]
    videos = load_medvidqa_corpus(args.subtitles)
    held = frozenset(v.video_id for v in load_medvidqa_corpus([args.held_out / "subtitles" / "val"])) if args.held_out else frozenset()
    config = fit(questions, videos, encoder, log=say, held_out=held)
    out: dict = {"config": asdict(config)}
    if held:
        index = CorpusIndex.build(videos, encoder, config)  # the whole train corpus: held-out questions search it all
        zero_shot = replace(config, localizer=replace(config.localizer, prior_weight=0.0, position_weight=0.0, threshold=0.2,
                                                      smooth_seconds=5.0))
        held_questions = [q for q in questions if q["video_id"] in held]
        out["held_out"] = held_out_report(index, held_questions, {"fitted priors + relevance": config,
                                                                  "zero-shot relevance only (before)": zero_shot})
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
