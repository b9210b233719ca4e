import pytest

from mmdemo.metrics import exact_match, f1_score, normalize_answer, squad_scores


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
