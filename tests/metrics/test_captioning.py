import math

import pytest

from mmdemo.metrics.captioning import (
    bleu,
    caption_scores,
    cider_d,
    meteor,
    rouge_l,
    tokenize,
)


def test_tokenize_lowercases_and_drops_punctuation():
    assert tokenize("A man, cooking pasta!  Don't stop.") == ["a", "man", "cooking", "pasta", "don't", "stop"]


def test_bleu_of_identical_sentences_is_100():
    sentence = "a man is slicing a tomato on a board"
    assert bleu([sentence], [[sentence, "someone cuts vegetables"]]) == pytest.approx([100.0] * 4)


def test_bleu_two_sentence_corpus_by_hand():
    candidates = ["the cat sat on the mat", "a dog runs"]
    references = [["the cat is on the mat", "there is a cat on the mat"], ["a dog is running"]]
    # Clipped matches / candidate n-grams, pooled over both sentences:
    #   1-grams (5 + 2) / (6 + 3), 2-grams (3 + 1) / (5 + 2), 3-grams (1 + 0) / (4 + 1), 4-grams 0 / 3.
    # c = 9 words; r = 6 (closest of 6 and 7) + 4 = 10, so BP = exp(1 - 10/9).
    bp = math.exp(1 - 10 / 9)
    p1, p2, p3 = 7 / 9, 4 / 7, 1 / 5
    expected = [bp * p1, bp * (p1 * p2) ** 0.5, bp * (p1 * p2 * p3) ** (1 / 3), 0.0]
    assert bleu(candidates, references) == pytest.approx([100 * e for e in expected])


def test_bleu_clips_repeated_words_and_has_no_penalty_for_long_candidates():
    # "the the the the": one "the" per reference at most -> p1 = 2/4 (the 2nd reference has two).
    score = bleu(["the the the the"], [["the cat", "the the dog"]], max_n=1)
    assert score == pytest.approx([100 * 2 / 4])  # c = 4 >= r = 3: BP = 1


def test_meteor_by_hand():
    # Identical: P = R = 1, one chunk of 6 matches: 1 - 0.5 (1/6)^3.
    assert meteor(["the cat sat on the mat"], [["the cat sat on the mat"]]) == pytest.approx(100 * (1 - 0.5 / 216))
    # Same words, two chunks ("the cat sat" + "on the mat" swapped): 1 - 0.5 (2/6)^3.
    assert meteor(["the cat sat on the mat"], [["on the mat the cat sat"]]) == pytest.approx(100 * (1 - 0.5 / 27))
    # "a dog" matches: P = R = 2/4, Fmean = 10PR / (R + 9P) = 0.5, one chunk: penalty 0.5 (1/2)^3.
    half = 0.5 * (1 - 0.5 / 8)
    assert meteor(["a dog runs fast"], [["a dog is running"]]) == pytest.approx(100 * half)
    # Best reference per clip, mean over clips.
    assert meteor(["a dog runs fast", "xyz"], [["nothing here", "a dog is running"], ["abc"]]) == pytest.approx(100 * half / 2)


def test_rouge_l_by_hand():
    # LCS("the cat on the mat", "the cat is on the mat") = 5: P = 5/5, R = 5/6.
    p, r, b2 = 1.0, 5 / 6, 1.2**2
    expected = (1 + b2) * p * r / (r + b2 * p)
    assert rouge_l(["the cat on the mat"], [["the cat is on the mat"]]) == pytest.approx(100 * expected)
    # coco-caption maximises P and R over references separately: P = 4/4 (2nd), R = 2/2 (1st) -> 1.
    assert rouge_l(["a b c d"], [["a b", "a b c d e f g h"]]) == pytest.approx(100.0)
    assert rouge_l(["x y"], [["a b"]]) == 0.0


def test_cider_d_by_hand():
    # N = 2 clips, every n-gram in one clip's references: idf = log 2 for all of them.
    # Clip 1 copies its reference: sim_1 = sim_2 = 1 (no 3-, 4-grams): 10 * 2 / 4 = 5.
    # Clip 2 "c" vs "c d": sim_1 = log2^2 / (log2 * sqrt(2) log2) = 1/sqrt(2), length penalty exp(-1/72).
    clip2 = 10 * (math.exp(-1 / 72) / math.sqrt(2)) / 4
    assert cider_d(["a b", "c"], [["a b"], ["c d"]]) == pytest.approx(100 * (5 + clip2) / 2)


def test_cider_d_copy_of_all_references_scores_highest():
    references = [["a man is cooking pasta", "a man is cooking pasta"], ["a dog runs in the park"]]
    perfect = cider_d(["a man is cooking pasta", "a dog runs in the park"], references)
    assert perfect == pytest.approx(1000.0)  # coco-caption's 10, the maximum
    for other in ("a man is cooking", "a man is cooking pasta pasta", "a woman is cooking pasta", "pasta"):
        assert cider_d([other, "a dog runs in the park"], references) < perfect
    # Words in every clip's references carry no information (idf 0): "a" alone scores 0.
    assert cider_d(["a", "a"], references) == 0.0


def test_caption_scores_names_and_input_checks():
    scores = caption_scores(["a man cooks"], [["a man cooks", "a person is cooking"]])
    assert list(scores) == ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"]
    assert scores["BLEU-1"] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="one candidate"):
        bleu(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="non-empty list"):
        rouge_l(["a"], [[]])
    with pytest.raises(ValueError, match="non-empty list"):
        meteor(["a"], ["a"])
