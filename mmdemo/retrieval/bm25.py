"""Lexical search: BM25 (bm25s) over caption windows with a plain lower-case word tokenizer."""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

# Words that carry no topic in "how to ..." questions or in speech; no stemming on purpose
# (ASR text is noisy enough that exact word overlap is the useful signal).
STOPWORDS = frozenset(
    """a an and are as at be but by can do does for from how i if in is it its me my of on or so
    that the their them then there these they this to up was we what when where which who why will
    with you your just like um uh okay ok going gonna get got go right yeah""".split()
)
_WORD = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


class BM25Index:
    """Scores every document for a query; callers need all scores (per-caption timelines)."""

    def __init__(self, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        import bm25s

        self.size = len(texts)
        # bm25s wants a non-empty vocabulary; a placeholder token keeps empty windows harmless.
        corpus = [tokenize(t) or ["<empty>"] for t in texts]
        self._bm25 = bm25s.BM25(k1=k1, b=b)
        self._bm25.index(corpus, show_progress=False)
        self._vocab = set(self._bm25.vocab_dict)

    def scores(self, query: str) -> np.ndarray:
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
