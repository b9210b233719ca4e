import numpy as np
import pytest

from mmdemo.metrics import best_iou, iou_summary, mrr, rank_k_iou, recall_at_k, temporal_iou
from mmdemo.metrics import exact_match, f1_score, normalize_answer, squad_scores
from mmdemo.metrics import class_iou, confusion_matrix, mean_iou
from mmdemo.metrics import word_error_rate


def test_recall_at_k_counts_ranks_within_k():
    ranks = [1, 2, 5, None]
    assert recall_at_k(ranks, 1) == 25.0
    assert recall_at_k(ranks, 2) == 50.0
    assert recall_at_k(ranks, 5) == 75.0
    assert recall_at_k([], 1) == 0.0


def test_mrr_is_mean_of_reciprocal_ranks_in_percent():
    # (1 + 1/2 + 1/4 + 0) / 4 = 0.4375
    assert mrr([1, 2, 4, None]) == pytest.approx(43.75)


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ((0, 10), (0, 10), 1.0),
        ((0, 10), (5, 15), 5 / 15),
        ((0, 10), (10, 20), 0.0),
        ((0, 10), (2, 4), 0.2),
        ((3, 3), (3, 3), 0.0),
    ],
)
def test_temporal_iou(a, b, expected):
    assert temporal_iou(a, b) == pytest.approx(expected)
    assert temporal_iou(b, a) == pytest.approx(expected)


def test_best_iou_ignores_spans_in_other_videos_and_beyond_k():
    gold = ("v1", 10.0, 20.0)
    preds = [("v2", 10.0, 20.0), ("v1", 15.0, 25.0), ("v1", 10.0, 20.0)]
    assert best_iou(preds, gold, 1) == 0.0  # right time, wrong video
    assert best_iou(preds, gold, 2) == pytest.approx(5 / 15)
    assert best_iou(preds, gold, 3) == 1.0


def test_iou_summary_thresholds_are_inclusive():
    out = iou_summary([0.3, 0.5, 0.7, 0.0])
    assert out == {"IoU=0.3": 75.0, "IoU=0.5": 50.0, "IoU=0.7": 25.0, "mIoU": pytest.approx(37.5)}


def test_rank_k_iou_over_questions():
    golds = [("a", 0.0, 10.0), ("b", 0.0, 10.0)]
    preds = [
        [("a", 0.0, 5.0), ("a", 0.0, 10.0)],  # IoU 0.5 at rank 1, 1.0 at rank 2
        [("a", 0.0, 10.0), ("b", 5.0, 10.0)],  # wrong video first, then IoU 0.5
    ]
    r1 = rank_k_iou(preds, golds, 1)
    assert r1 == {"IoU=0.3": 50.0, "IoU=0.5": 50.0, "IoU=0.7": 0.0, "mIoU": pytest.approx(25.0)}
    r2 = rank_k_iou(preds, golds, 2)
    assert r2 == {"IoU=0.3": 100.0, "IoU=0.5": 100.0, "IoU=0.7": 50.0, "mIoU": pytest.approx(75.0)}


def test_rank_k_iou_needs_one_prediction_list_per_question():
    with pytest.raises(ValueError):
        rank_k_iou([[]], [], 1)


def test_average_precision_at_10_by_hand():
    from mmdemo.metrics import average_precision_at_k

    assert average_precision_at_k([3], relevant=1) == pytest.approx(1 / 3)  # DCASE mAP@10: 1 / rank
    assert average_precision_at_k([11], relevant=1) == 0.0  # below the cut-off
    # two relevant at ranks 1 and 4: (1/1 + 2/4) / 2
    assert average_precision_at_k([4, 1], relevant=2) == pytest.approx(0.75)
    # five relevant, two found in the top 10 at ranks 2 and 5: (1/2 + 2/5) / 5
    assert average_precision_at_k([2, 5, 12, 13, 14], relevant=5) == pytest.approx(0.18)


def test_cross_modal_retrieval_by_hand():
    from mmdemo.metrics import cross_modal_retrieval

    # 4 captions x 3 recordings; captions 2 and 3 describe recording 2
    similarity = [[0.9, 0.1, 0.2], [0.5, 0.6, 0.1], [0.3, 0.2, 0.1], [0.1, 0.1, 0.9]]
    out = cross_modal_retrieval(similarity, [0, 1, 2, 2])
    # text to audio ranks: 1, 1, 3, 1
    assert out["t2a_mAP@10"] == pytest.approx(100 * (1 + 1 + 1 / 3 + 1) / 4)
    assert out["t2a_R@1"] == 75.0 and out["t2a_R@5"] == 100.0
    # audio 2's captions score 0.1 and 0.9; caption 1 also scores 0.1: a tie ranks the relevant one last
    assert out["a2t_mAP@10"] == pytest.approx(100 * (1 + 1 + (1 + 2 / 4) / 2) / 3)
    assert out["a2t_R@1"] == 100.0


# ------------------------------------------------------------------ extractive QA (SQuAD EM / F1)


@pytest.mark.parametrize("text, normal", [
    ("The  Quick, brown fox!", "quick brown fox"),
    ("An apple a day", "apple day"),
    ("theatre", "theatre"),  # articles are whole words only
    ("5-10 cm.", "510 cm"),  # punctuation is removed, not turned into spaces
])
def test_squad_normalisation(text, normal):
    assert normalize_answer(text) == normal


def test_exact_match_is_the_best_over_gold_answers():
    assert exact_match("the Eiffel Tower.", ["Paris", "Eiffel tower"]) == 1.0
    assert exact_match("Tower", ["Eiffel Tower"]) == 0.0
    assert exact_match("", []) == 1.0 and exact_match("Paris", []) == 0.0  # SQuAD v2: no answer


def test_f1_by_hand():
    # prediction {cat, sat} against {cat, sat, down}: precision 2/2, recall 2/3, F1 = 0.8
    assert f1_score("the cat sat", ["a cat sat down"]) == pytest.approx(0.8)
    assert f1_score("cat sat", ["dog", "cat sat down"]) == pytest.approx(0.8)  # the best gold answer counts
    # repeated tokens count once per match: precision 1/2, recall 1/1, F1 = 2/3
    assert f1_score("cat cat", ["cat"]) == pytest.approx(2 / 3)
    assert f1_score("dog", ["cat"]) == 0.0
    assert f1_score("", []) == 1.0 and f1_score("cat", []) == 0.0
    assert f1_score("the", ["a"]) == 1.0  # both normalise to nothing


def test_squad_scores_average_in_percent():
    assert squad_scores(["cat sat", "x"], [["cat sat down"], ["x"]]) == {"exact_match": 50.0, "f1": pytest.approx(90.0)}
    assert squad_scores([], []) == {"exact_match": 0.0, "f1": 0.0}
    with pytest.raises(ValueError):
        squad_scores(["a"], [])


# A hand-made 3 x 4 label map with five classes; 255 marks pixels the benchmark ignores.
GOLD = [[0, 0, 1, 1],
        [2, 2, 1, 255],
        [0, 0, 2, 255]]
PREDICTED = [[0, 1, 1, 1],
             [2, 3, 1, 3],  # the 3 on the ignored pixel is not counted
             [0, 0, 2, 4]]  # nor the 4: class 4 is in neither map once ignored pixels are dropped


def test_confusion_matrix_counts_gold_rows_against_predicted_columns():
    assert confusion_matrix(GOLD, PREDICTED, 5).tolist() == [
        [3, 1, 0, 0, 0],
        [0, 3, 0, 0, 0],
        [0, 0, 2, 1, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
    ]


def test_segmentation_iou_by_hand():
    iou = class_iou(confusion_matrix(GOLD, PREDICTED, 5))
    # class 0: 3 / (3 + 1 missed); 1: 3 / (3 + 1 false); 2: 2 / (2 + 1 missed); 3: predicted, never gold
    assert iou[:4] == pytest.approx([75.0, 75.0, 200 / 3, 0.0])
    assert np.isnan(iou[4])  # absent from both: not scored
    assert mean_iou(confusion_matrix(GOLD, PREDICTED, 5)) == pytest.approx((75 + 75 + 200 / 3 + 0) / 4)
    assert mean_iou(confusion_matrix(GOLD, GOLD, 5)) == 100.0
    assert mean_iou(np.zeros((5, 5))) == 0.0


def test_confusion_matrix_sums_over_images_and_refuses_bad_labels():
    twice = confusion_matrix(GOLD, PREDICTED, 5) + confusion_matrix(GOLD, PREDICTED, 5)
    assert (twice == confusion_matrix(np.stack([GOLD, GOLD]), np.stack([PREDICTED, PREDICTED]), 5)).all()
    with pytest.raises(ValueError, match="labels must be in 0..4"):
        confusion_matrix([[0, 5]], [[0, 0]], 5)
    with pytest.raises(ValueError, match="predicted labels"):
        confusion_matrix([[0, 1]], [[0, 9]], 5)
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_matrix([[0, 1]], [[0, 1, 1]], 5)


def test_word_error_rate_counts_substitutions_deletions_and_insertions():
    reference = "ask not what your country can do for you"
    assert word_error_rate(reference, reference) == 0.0
    assert word_error_rate("Ask not, what your COUNTRY can do for you!", reference) == 0.0  # case and punctuation
    assert word_error_rate("ask not what my country can do for you", reference) == pytest.approx(100 / 9)
    assert word_error_rate("ask what your country can do for you", reference) == pytest.approx(100 / 9)
    assert word_error_rate("so ask not what your country can do for you now", reference) == pytest.approx(200 / 9)
    assert word_error_rate("", reference) == 100.0
    assert word_error_rate("a b c d", "x") == 400.0  # more than 100: every word is wrong or extra
    assert word_error_rate("", "") == 0.0 and word_error_rate("hello", "") == 100.0
    assert word_error_rate("don't stop", "don't stop") == 0.0
