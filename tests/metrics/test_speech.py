import pytest

from mmdemo.metrics import word_error_rate


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
