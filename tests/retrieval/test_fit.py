"""The refit of the retrieval constants: every value from its grid, the length prior from all answers."""

import itertools
import math

import numpy as np
import pytest

from mmdemo.retrieval import fit as fit_module

QUESTIONS = {"cpr": "How do I do chest compressions?", "burn": "How should I cool a burn?", "knee": "How to stretch the knee?"}


@pytest.mark.slow
def test_fit_picks_values_from_its_grids_and_the_prior_from_every_answer(tiny_corpus, minilm):
    # the gold span is where the topic is spoken: captions 3..6, 15 s to 35 s
    questions = [{"question": q, "video_id": vid, "answer_start_second": 15.0, "answer_end_second": 35.0}
                 for vid, q in QUESTIONS.items()]
    questions.append({"question": "absent", "video_id": "elsewhere", "answer_start_second": 0.0, "answer_end_second": math.e ** 3})
    config = fit_module.fit(questions, tiny_corpus, minilm, log=lambda message: None)

    # the priors count answers of videos without captions too: four answers, each its own "video length"
    priors = fit_module.span_priors(questions)
    assert config.localizer.length_log_intercept == priors["length_log_intercept"]
    assert config.localizer.position_log_odds == priors["position_log_odds"]
    assert config.localizer.length_log_std >= fit_module.MIN_LOG_STD
    assert config.window_seconds in fit_module.WINDOW_SECONDS and config.dense_weight in fit_module.DENSE_WEIGHTS
    assert config.video_top_m in fit_module.TOP_MS and config.span_rank_penalty in fit_module.PENALTIES
    loc = config.localizer
    assert (loc.smooth_seconds, loc.threshold, loc.prior_weight, loc.position_weight) in set(itertools.product(
        fit_module.SMOOTHS, fit_module.THRESHOLDS, fit_module.PRIOR_WEIGHTS, fit_module.POSITION_WEIGHTS))
    assert 0.0 <= config.calibration.refuse_below <= 1.0 and config.calibration.cosine_weight > 0


def test_span_priors_learn_that_longer_videos_have_longer_answers():
    questions = [{"answer_start_second": 10.0, "answer_end_second": 10.0 + 0.1 * v, "video_length": v}
                 for v in (60.0, 120.0, 600.0, 1200.0)]
    priors = fit_module.span_priors(questions)
    assert priors["length_log_slope"] == pytest.approx(1.0, abs=1e-3)  # length = 0.1 x video length
    assert priors["length_log_intercept"] == pytest.approx(math.log(0.1), abs=1e-3)


def test_video_mrr_ranks_by_the_indexs_video_scores(tiny_corpus):
    from mmdemo.retrieval.corpus_index import CorpusIndex

    index = CorpusIndex.build(tiny_corpus)  # bm25 only
    questions = [{"question": q, "video_id": vid} for vid, q in QUESTIONS.items()]
    scores = [index.window_scores(q["question"], "bm25") for q in questions]
    assert fit_module._video_mrr(index, questions, scores, top_m=1) == 100.0
    gold_last = []  # every window of the gold video 0, all others 1: the gold video ranks third of three
    for q in questions:
        s = np.ones(len(index.windows))
        s[index.slices[index.video_ids.index(q["video_id"])]] = 0.0
        gold_last.append(s)
    assert fit_module._video_mrr(index, questions, gold_last, top_m=1) == pytest.approx(100.0 / 3)
