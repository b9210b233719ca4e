"""Retrieval metrics, in percent as the papers report them: R@k, MRR and mAP@10.

Video retrieval (MedVidQA / video corpus answer localisation, Li et al., "Learning to locate
visual answer in video corpus using question", section 3): R@k and MRR over the rank of the gold
video. Cross-modal retrieval (language-based audio retrieval, DCASE 2023 task 6b; CP-JKU
section 2.6): mAP@10 and R@k in both directions.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


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
