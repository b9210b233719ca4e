"""Extractive QA metrics (SQuAD; the DistilBERT part of "pretrained vs scratch", section 3.2.2):
exact match and token F1 after the official SQuAD answer normalisation, best over the gold answers.
"""

from __future__ import annotations

import string
from collections import Counter
from typing import Sequence

_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """The SQuAD normalisation: lower case, no punctuation, no articles (a, an, the), single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(word for word in text.split() if word not in ("a", "an", "the"))


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer (a fraction, per question).

    ``answers`` empty means "no answer" (SQuAD v2): only an empty prediction matches.
    """
    return max((float(normalize_answer(prediction) == normalize_answer(a)) for a in answers or [""]))


def f1_score(prediction: str, answers: Sequence[str]) -> float:
    """Token-overlap F1 against the best gold answer (a fraction); as SQuAD v2, when either side
    normalises to no tokens, F1 is 1 if both do and 0 otherwise."""
    return max(_token_f1(normalize_answer(prediction).split(), normalize_answer(a).split()) for a in answers or [""])


def _token_f1(predicted: list[str], gold: list[str]) -> float:
    if not predicted or not gold:
        return float(predicted == gold)
    common = sum((Counter(predicted) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def squad_scores(predictions: Sequence[str], answers: Sequence[Sequence[str]]) -> dict[str, float]:
    """{"exact_match": %, "f1": %} averaged over questions, as the SQuAD evaluation script."""
    if len(predictions) != len(answers):
        raise ValueError("one prediction per question is needed")
    if not predictions:
        return {"exact_match": 0.0, "f1": 0.0}
    n = len(predictions)
    return {"exact_match": 100.0 * sum(exact_match(p, a) for p, a in zip(predictions, answers)) / n,
            "f1": 100.0 * sum(f1_score(p, a) for p, a in zip(predictions, answers)) / n}
