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
    config = LocalizerConfig(smooth_seconds=5.0, threshold=0.5, prior_weight=0.1, position_weight=0.0)
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
    config = LocalizerConfig(length_log_intercept=np.log(40.0), length_log_slope=0.0, length_log_std=0.5, threshold=0.5,
                             prior_weight=1.0, position_weight=0.0)
    span = best_spans(CAPTIONS, flat, config, top_k=1)[0]
    assert span.end - span.start == pytest.approx(40.0)


def test_no_captions_no_spans():
    assert best_spans([], np.zeros(0), LocalizerConfig()) == []


# ------------------------------------------------------------------ against brute force, and at scale


def brute_force_spans(captions, relevance, config, top_k):
    """Every span scored one by one, then greedy NMS: what ``best_spans`` must reproduce."""
    starts = np.array([c.start for c in captions])
    slots = np.append(np.diff(starts), captions[-1].end - captions[-1].start).clip(min=0)
    duration = max(captions[-1].end, 1.0)
    mean = config.log_length_mean(duration)
    gain = np.concatenate([[0.0], np.cumsum((np.asarray(relevance, dtype=np.float64) - config.threshold) * slots)]) / np.exp(mean)
    spans = []
    for i, a in enumerate(captions):
        for j in range(i, len(captions)):
            if captions[j].end > a.start + config.max_length_seconds(duration) and j > i:
                continue
            z = (np.log(max(captions[j].end - a.start, 1e-3)) - mean) / config.length_log_std
            tenth = min(int(0.5 * (a.start + captions[j].end) / duration * 10), 9)
            position = config.position_weight * config.position_log_odds[tenth]
            spans.append((gain[j + 1] - gain[i] - config.prior_weight * 0.5 * z**2 + position, i, j, a.start, captions[j].end))
    out = []
    while spans and len(out) < top_k:
        best = max(spans, key=lambda s: s[0])  # the first of equals, as in (first, last) order
        out.append(best)
        s, e = best[3], best[4]

        def iou(x):
            union = max(x[4], e) - min(x[3], s)
            return max(0.0, min(x[4], e) - max(x[3], s)) / union if union > 0 else 0.0

        spans = [x for x in spans if x is not best and iou(x) <= config.nms_iou]
    return out


def random_captions(rng, n):
    """Sorted, disjoint captions with gaps and some zero-length ones, under 20 min in all."""
    starts = np.round(np.cumsum(rng.exponential(2.0, n)), 3)
    ends = np.minimum(starts + np.round(rng.exponential(3.0, n) * (rng.random(n) > 0.1), 3), np.append(starts[1:], np.inf))
    return [Caption(float(s), float(e), "x") for s, e in zip(starts, ends)]


@pytest.mark.parametrize("seed", range(12))
def test_spans_match_brute_force_on_random_inputs(seed):
    rng = np.random.default_rng(seed)
    captions = random_captions(rng, int(rng.integers(1, 60)))
    config = LocalizerConfig(
        smooth_seconds=float(rng.choice([0.0, 2.0, 5.0])), threshold=float(rng.random()),
        prior_weight=float(rng.choice([0.0, 1.0, 10.0])), nms_iou=float(rng.choice([0.0, 0.3, 0.5])),
        position_weight=float(rng.choice([0.0, 0.3, 1.0])),
    )
    raw = np.round(rng.random(len(captions)), 1)  # rounded, so there are ties to break
    relevance = caption_relevance(captions, raw, config).scores
    spans = best_spans(captions, relevance, config, top_k=8)
    expected = brute_force_spans(captions, relevance, config, top_k=8)
    assert [(s.first, s.last) for s in spans] == [(i, j) for _, i, j, _, _ in expected]
    np.testing.assert_allclose([s.score for s in spans], [x[0] for x in expected], rtol=1e-12, atol=1e-12)


def test_smoothing_matches_the_full_gaussian():
    rng = np.random.default_rng(0)
    captions = random_captions(rng, 300)
    times = np.array([0.5 * (c.start + c.end) for c in captions])
    raw = rng.random(len(captions))
    weights = np.exp(-0.5 * ((times[:, None] - times[None, :]) / 5.0) ** 2)
    full = weights @ raw / weights.sum(1)
    expected = (full - full.min()) / (full.max() - full.min())
    timeline = caption_relevance(captions, raw, LocalizerConfig(smooth_seconds=5.0))
    np.testing.assert_allclose(timeline.scores, expected, atol=1e-6)


def test_spans_are_never_longer_than_the_prior_allows():
    captions = [Caption(5.0 * i, 5.0 * i + 5.0, "x") for i in range(1000)]  # 5,000 s, all relevant
    config = LocalizerConfig()
    span = best_spans(captions, np.ones(1000), config, top_k=1)[0]
    assert 1000.0 < span.end - span.start <= config.max_length_seconds(5000.0) < 3000.0


def test_a_hundred_thousand_captions_in_bounded_memory():
    """Issue 19: n x n arrays needed 74.5 GiB at 100,000 cues; the localizer now needs megabytes."""
    import tracemalloc

    n = 100_000
    captions = [Caption(5.0 * i, 5.0 * i + 4.5, "x") for i in range(n)]
    raw = np.random.default_rng(0).random(n)
    tracemalloc.start()
    try:
        config = LocalizerConfig()
        spans = best_spans(captions, caption_relevance(captions, raw, config).scores, config, top_k=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(spans) == 5
    assert peak < 64e6  # the n x n version's index arrays alone: 2 x 8 x n^2 / 2 = 80 GB


# ------------------------------------------------------------------ priors learnt from MedVidQA spans


def test_length_prior_scales_with_video_length():
    """Issue 15: MedVidQA answers are ~25 s in a 90 s clip and ~60 s in a 10-minute video."""
    config = LocalizerConfig()
    assert np.exp(config.log_length_mean(86.0)) < 35.0 < 50.0 < np.exp(config.log_length_mean(600.0)) < 75.0
    prior_only = LocalizerConfig(threshold=0.5, prior_weight=1.0, position_weight=0.0)
    captions = [Caption(1.0 * i, 1.0 * i + 1.0, "x") for i in range(600)]
    flat = np.full(600, 0.5)  # no evidence: the prior alone sets the length
    for duration in (86.0, 600.0):
        span = best_spans(captions[: int(duration)], flat[: int(duration)], prior_only, 1, duration)[0]
        assert span.end - span.start == pytest.approx(np.exp(prior_only.log_length_mean(duration)), abs=1.0)


def test_position_prior_prefers_the_middle_of_a_video_over_its_first_tenth():
    config = LocalizerConfig(threshold=0.5, prior_weight=1.0, position_weight=1.0)
    captions = [Caption(1.0 * i, 1.0 * i + 1.0, "x") for i in range(300)]
    span = best_spans(captions, np.full(300, 0.5), config, 1)[0]
    assert 30.0 <= 0.5 * (span.start + span.end) <= 270.0


def test_spans_of_one_video_never_overlap_by_default():
    relevance = caption_relevance(CAPTIONS, planted_scores(noise=0.3), LocalizerConfig()).scores
    spans = best_spans(CAPTIONS, relevance, LocalizerConfig(), top_k=5)
    for i, a in enumerate(spans):
        for b in spans[:i]:
            assert a.end <= b.start or b.end <= a.start
