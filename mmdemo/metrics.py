"""Evaluation metrics. Every rate is returned in percent, as the papers report them.

Retrieval (MedVidQA / video corpus answer localisation, Li et al., "Learning to locate visual
answer in video corpus using question", section 3): R@k and MRR over the rank of the gold
video. Localisation: a question's Rank@k IoU is the best temporal IoU among its top-k predicted
spans over the whole corpus, where a span in a wrong video has IoU 0; IoU=m is the share of
questions whose Rank@k IoU is >= m, and mIoU is its mean.

Extractive QA (SQuAD): exact match and token F1 after the SQuAD answer normalisation.

Semantic segmentation: IoU per class and mIoU from a confusion matrix of pixel counts.

Speech recognition: word error rate over lower-cased words without punctuation.
"""

from __future__ import annotations

import string
from collections import Counter
from typing import Sequence

import numpy as np

Span = tuple[str, float, float]  # (video_id, start, end)
IOU_THRESHOLDS = (0.3, 0.5, 0.7)


def recall_at_k(ranks: Sequence[int | None], k: int) -> float:
    """Share of queries whose gold item is within the first k; ranks are 1-based, None = missing."""
    if not ranks:
        return 0.0
    return 100.0 * sum(r is not None and r <= k for r in ranks) / len(ranks)


def mrr(ranks: Sequence[int | None]) -> float:
    """Mean reciprocal rank (a missing gold item contributes 0)."""
    if not ranks:
        return 0.0
    return 100.0 * sum(1.0 / r for r in ranks if r is not None) / len(ranks)


def temporal_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Intersection over union of two [start, end] intervals in seconds."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def best_iou(predictions: Sequence[Span], gold: Span, k: int) -> float:
    """Best IoU among the first k predicted spans; spans in another video count 0."""
    return max(
        (temporal_iou((s, e), (gold[1], gold[2])) for vid, s, e in predictions[:k] if vid == gold[0]),
        default=0.0,
    )


def iou_summary(ious: Sequence[float], thresholds: Sequence[float] = IOU_THRESHOLDS) -> dict[str, float]:
    """{"IoU=0.3": %, "IoU=0.5": %, "IoU=0.7": %, "mIoU": %} over per-question IoUs."""
    values = np.asarray(ious, dtype=np.float64)
    if values.size == 0:
        return {**{f"IoU={t}": 0.0 for t in thresholds}, "mIoU": 0.0}
    # a small tolerance so that an IoU of exactly 0.3 computed in floating point counts as 0.3
    out = {f"IoU={t}": 100.0 * float(np.mean(values >= t - 1e-9)) for t in thresholds}
    out["mIoU"] = 100.0 * float(values.mean())
    return out


def rank_k_iou(predictions: Sequence[Sequence[Span]], golds: Sequence[Span], k: int) -> dict[str, float]:
    """Rank@k IoU hit rates and mIoU over questions (predictions[i] ranked best first)."""
    if len(predictions) != len(golds):
        raise ValueError("one prediction list per gold span is needed")
    return iou_summary([best_iou(p, g, k) for p, g in zip(predictions, golds)])


# ----------------------------------------------------------------------------------------------
# Cross-modal retrieval (language-based audio retrieval, DCASE 2023 task 6b; CP-JKU section 2.6)


def average_precision_at_k(hit_ranks: Sequence[int], relevant: int, k: int = 10) -> float:
    """AP@k of one query (a fraction): the mean over relevant items of precision at each hit's rank.

    ``hit_ranks`` are the 1-based ranks of the relevant items; hits below k count nothing. With
    one relevant item this is 1 / rank (or 0), the DCASE mAP@10.
    """
    hits = sorted(r for r in hit_ranks if r <= k)
    if relevant <= 0:
        return 0.0
    return sum((found + 1) / rank for found, rank in enumerate(hits)) / min(relevant, k)


def cross_modal_retrieval(similarity: np.ndarray, owners: Sequence[int], ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """mAP@10 and R@k, in percent, for text-to-audio and audio-to-text retrieval.

    ``similarity`` is (captions, recordings); ``owners[i]`` is the recording caption i describes.
    Text to audio: every caption is a query with one relevant recording. Audio to text: every
    recording is a query whose relevant items are all of its captions; R@k counts a hit if any
    of them is within the first k. Ties rank the relevant item after the others (no credit for luck).
    """
    similarity = np.asarray(similarity, dtype=np.float64)
    owners = np.asarray(owners)
    out: dict[str, float] = {}
    for direction, matrix, relevant_of in (
        ("t2a", similarity, lambda q: np.array([owners[q]])),
        ("a2t", similarity.T, lambda q: np.flatnonzero(owners == q)),
    ):
        aps, first_hits = [], []
        for query, scores in enumerate(matrix):
            relevant = relevant_of(query)
            if relevant.size == 0:
                continue
            is_relevant = np.zeros(scores.size, dtype=bool)
            is_relevant[relevant] = True
            order = np.lexsort((is_relevant, -scores))  # best first; among equal scores the relevant last
            ranks = np.flatnonzero(is_relevant[order]) + 1
            aps.append(average_precision_at_k(ranks.tolist(), relevant.size, 10))
            first_hits.append(int(ranks[0]))
        out[f"{direction}_mAP@10"] = 100.0 * float(np.mean(aps)) if aps else 0.0
        for k in ks:
            out[f"{direction}_R@{k}"] = recall_at_k(first_hits, k)
    return out


# ----------------------------------------------------------------------------------------------
# Semantic segmentation (Cityscapes; "pretrained vs scratch", Table 4): IoU per class from one
# confusion matrix accumulated over every pixel of a split, as the Cityscapes benchmark scores.


def confusion_matrix(gold: np.ndarray, predicted: np.ndarray, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """(C, C) pixel counts, rows the gold class and columns the predicted one.

    Pixels whose gold label is ``ignore_index`` are not counted; any other label outside
    0..C-1, in either map, is an error rather than a silently dropped pixel.
    """
    gold, predicted = np.asarray(gold), np.asarray(predicted)
    if gold.shape != predicted.shape:
        raise ValueError(f"gold {gold.shape} and predicted {predicted.shape} label maps differ in shape")
    keep = gold != ignore_index
    gold, predicted = gold[keep].astype(np.int64), predicted[keep].astype(np.int64)
    for name, labels in (("gold", gold), ("predicted", predicted)):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"{name} labels must be in 0..{num_classes - 1} (or {ignore_index} in gold)")
    return np.bincount(gold * num_classes + predicted, minlength=num_classes**2).reshape(num_classes, num_classes)


def class_iou(confusion: np.ndarray) -> np.ndarray:
    """(C,) IoU = TP / (TP + FP + FN) per class, in percent; NaN for a class absent from both
    the gold and the predicted maps (nothing to score). A class predicted but never gold scores 0."""
    confusion = np.asarray(confusion, dtype=np.float64)
    hits = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - hits
    iou = np.full(len(hits), np.nan)
    np.divide(100.0 * hits, union, out=iou, where=union > 0)
    return iou


def mean_iou(confusion: np.ndarray) -> float:
    """mIoU in percent: the mean of ``class_iou`` over the classes it scores (0 if none)."""
    iou = class_iou(confusion)
    scored = iou[~np.isnan(iou)]
    return float(scored.mean()) if scored.size else 0.0


# ----------------------------------------------------------------------------------------------
# Extractive QA (SQuAD; the DistilBERT part of "pretrained vs scratch", section 3.2.2): exact
# match and token F1 after the official SQuAD answer normalisation, best over the gold answers.

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


# Speech recognition: word error rate, (substitutions + deletions + insertions) / reference words,
# from a word-level Levenshtein alignment, after lower-casing and dropping punctuation (the usual
# "normalised WER"; Whisper's own normaliser also spells out numbers, which is left out here).


def _asr_words(text: str) -> list[str]:
    return "".join(ch if ch.isalnum() or ch == "'" or ch.isspace() else " " for ch in text.lower()).split()


def word_error_rate(hypothesis: str, reference: str) -> float:
    """WER in percent; can exceed 100 when the hypothesis inserts many words. An empty reference
    gives 0 for an empty hypothesis and 100 otherwise."""
    hyp, ref = _asr_words(hypothesis), _asr_words(reference)
    if not ref:
        return 0.0 if not hyp else 100.0
    previous = list(range(len(hyp) + 1))  # edit distance of ref[:0] to each prefix of hyp
    for i, word in enumerate(ref, 1):
        current = [i]
        for j, guess in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != guess)))
        previous = current
    return 100.0 * previous[-1] / len(ref)
