"""Semantic search: exact inner-product search (faiss IndexFlatIP) over unit-length embeddings."""

from __future__ import annotations

import numpy as np


class DenseIndex:
    """Cosine similarity of one query vector against every stored vector."""

    def __init__(self, embeddings: np.ndarray) -> None:
        import faiss

        embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        self.size, self.dim = embeddings.shape
        self._index = faiss.IndexFlatIP(self.dim)
        self._index.add(embeddings)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the k nearest, best first."""
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dim)
        scores, ids = self._index.search(q, min(k, self.size))
        return scores[0], ids[0]

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Similarity to every stored vector, in storage order."""
        out = np.zeros(self.size, dtype=np.float32)
        if self.size:
            scores, ids = self.search(query, self.size)
            out[ids] = scores
        return out
