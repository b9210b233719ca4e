import numpy as np
import pytest

from mmdemo.media.subtitles import Caption
from mmdemo.retrieval.localizer import LocalizerConfig, best_spans, caption_relevance

# 60 captions of 5 s (0..300 s); captions 20..31 (100..160 s) are the planted answer.
CAPTIONS = [Caption(5.0 * i, 5.0 * i + 5.0, f"line {i}") for i in range(60)]
ANSWER = (100.0, 160.0)


def planted_scores(noise: float = 0.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scores = np.full(60, 0.1) + noise * rng.random(60)
    scores[20:32] = 0.9
    return scores


def test_relevance_is_scaled_and_smoothed():
    timeline = caption_relevance(CAPTIONS, planted_scores(), LocalizerConfig(smooth_seconds=5.0))
    assert timeline.scores.min() == pytest.approx(0.0) and timeline.scores.max() == pytest.approx(1.0)
    np.testing.assert_allclose(timeline.times[:2], [2.5, 7.5])
    assert timeline.scores[25] > timeline.scores[19] > timeline.scores[10]


def test_constant_scores_give_a_flat_timeline():
    timeline = caption_relevance(CAPTIONS, np.ones(60), LocalizerConfig())
    np.testing.assert_array_equal(timeline.scores, 0.0)


def test_localizer_returns_the_planted_span():
    config = LocalizerConfig(smooth_seconds=5.0, threshold=0.5, prior_weight=1.0)
    relevance = caption_relevance(CAPTIONS, planted_scores(noise=0.2), config).scores
    top = best_spans(CAPTIONS, relevance, config, top_k=3)
    assert (top[0].start, top[0].end) == ANSWER
    assert top[0].score > top[1].score > top[2].score


def test_candidates_do_not_overlap_much():
    config = LocalizerConfig(nms_iou=0.3)
    relevance = caption_relevance(CAPTIONS, planted_scores(noise=0.3), config).scores
    spans = best_spans(CAPTIONS, relevance, config, top_k=5)
    assert len(spans) == 5
    for i, a in enumerate(spans):
        for b in spans[:i]:
            inter = max(0.0, min(a.end, b.end) - max(a.start, b.start))
            assert inter / (max(a.end, b.end) - min(a.start, b.start)) <= 0.3 + 1e-9


def test_length_prior_pulls_toward_typical_length():
    flat = np.ones(60) * 0.5  # no evidence anywhere: the prior alone decides the length
    config = LocalizerConfig(length_log_mean=np.log(40.0), length_log_std=0.5, threshold=0.5, prior_weight=1.0)
    span = best_spans(CAPTIONS, flat, config, top_k=1)[0]
    assert span.end - span.start == pytest.approx(40.0)


def test_no_captions_no_spans():
    assert best_spans([], np.zeros(0), LocalizerConfig()) == []
