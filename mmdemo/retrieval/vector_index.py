"""A persisted faiss index of unit vectors (inner product = cosine) with an id and metadata per row.

Two kinds, chosen by size (``benchmarks/vector_search.py`` measured the trade-off):

- ``exact``: ``IndexFlatIP``, every vector scored; latency grows linearly with the count.
- ``ivf``: an inverted file (``nlist`` k-means cells, ``nprobe`` of them scanned per query).
  Its lists hold the full vectors (IVF-flat) while they fit ``flat_max_bytes``, and 8-bit PQ
  codes (``IndexIVFPQ``) beyond. IVF-flat scores the probed cells exactly, so it only misses
  neighbours in unprobed cells: recall@10 1.0 against exact search on 100k clustered vectors,
  24x faster. PQ codes are 30x smaller, but their score error exceeds the gaps between near
  neighbours (recall@10 0.33 on the same set), so they are kept for collections that could
  not be held in memory otherwise. On vectors without cluster structure IVF recall is poor
  (0.06-0.12 on random ones): embeddings of real sounds are clustered, but ``auto`` keeps
  exact search up to ``exact_max``, where it is still as fast as encoding the query.

On disk an index is a directory: ``vectors.faiss`` (faiss's own format, not a pickle) and
``index.json`` (ids, metadata, dim, kind, build parameters and a free-form ``info`` dict).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mmdemo.checkpoint import atomic_directory, fsync_path, write_json
from mmdemo.errors import InputError

FORMAT_VERSION = 1
FAISS_FILE = "vectors.faiss"
JSON_FILE = "index.json"
KINDS = ("auto", "exact", "ivf")
UNIT_NORM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class VectorIndexConfig:
    kind: str = "auto"  # "auto" | "exact" | "ivf"
    # auto: exact up to this many vectors. Exact search over 50k x 1024-d took 17 ms on one
    # core, as long as encoding the query text (19 ms), and it is never wrong; above, it grows
    # by ~0.4 ms per 1k vectors (425 ms at 1M, against 9 ms for IVF). benchmarks/vector_search.py
    exact_max: int = 50_000
    lists_per_sqrt_n: float = 4.0  # nlist ~ 4 sqrt(N), the faiss wiki's rule for up to ~1M vectors
    min_train_per_list: int = 39  # faiss's floor for k-means: fewer points per centroid warns
    train_max: int = 100_000  # vectors sampled to train k-means and PQ (bounds build time)
    nprobe: int = 32  # cells scanned per query (clamped to nlist)
    flat_max_bytes: int = 4 << 30  # IVF lists keep full float32 vectors up to 4 GiB (1M x 1024-d)
    pq_m: int = 64  # PQ sub-quantizers (the largest divisor of dim up to this): 64 x 16-d on 1024-d
    pq_bits: int = 8  # bits per sub-quantizer code
    add_batch: int = 65_536  # vectors validated and added at a time (bounds temporary memory)
    seed: int = 0  # training sample and k-means initialisation


@dataclass(frozen=True)
class Hit:
    id: str
    score: float  # cosine similarity (exact, or as the IVF codes estimate it)
    metadata: dict[str, Any]


class VectorIndex:
    """Nearest stored vectors by cosine; read-only after build, so one index serves many users."""

    def __init__(self, index: Any, ids: list[str], metadata: list[dict[str, Any]], kind: str,
                 params: dict[str, Any], info: dict[str, Any]) -> None:
        self._index = index
        self.ids = ids
        self.metadata = metadata
        self.kind = kind
        self.params = params
        self.info = info

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self._index.d)

    @property
    def nbytes(self) -> int:
        """Memory the faiss structure holds: vectors or codes, list ids, centroids (not the metadata)."""
        index = self._index
        if self.kind == "exact":
            return int(index.ntotal) * int(index.code_size)
        total = int(index.ntotal) * (int(index.code_size) + 8) + int(index.nlist) * self.dim * 4
        if self.params["codes"] == "pq":
            total += int(index.pq.centroids.size()) * 4
        return total

    # ------------------------------------------------------------------ build and search

    @classmethod
    def build(cls, vectors: np.ndarray, ids: Sequence[str], metadata: Sequence[dict[str, Any]] | None = None,
              config: VectorIndexConfig = VectorIndexConfig(), info: dict[str, Any] | None = None) -> VectorIndex:
        """Index (N, D) unit-norm float32 vectors; ``ids`` must be unique strings."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = list(ids)
        metadata = [dict(m) for m in metadata] if metadata is not None else [{} for _ in ids]
        if vectors.ndim != 2 or len(vectors) == 0 or vectors.shape[1] == 0:
            raise InputError(f"nothing to index: expected an (N, D) array of vectors, got shape {vectors.shape}")
        if not len(vectors) == len(ids) == len(metadata):
            raise InputError(f"{len(vectors)} vectors, {len(ids)} ids and {len(metadata)} metadata records: counts must match")
        if not all(isinstance(i, str) for i in ids) or len(set(ids)) != len(ids):
            raise InputError("index ids must be unique strings")
        if config.kind not in KINDS:
            raise InputError(f"unknown index kind {config.kind!r}; use one of {', '.join(KINDS)}")

        n, dim = vectors.shape
        kind = config.kind if config.kind != "auto" else ("exact" if n <= config.exact_max else "ivf")
        if kind == "exact":
            index, params = faiss.IndexFlatIP(dim), {}
        else:
            index, params = _train_ivf(vectors, config)
        for start in range(0, n, config.add_batch):
            chunk = vectors[start : start + config.add_batch]
            _check_unit_rows(chunk, start)
            index.add(chunk)
        return cls(index, ids, metadata, kind, params, dict(info or {}))

    def search(self, queries: np.ndarray, k: int) -> list[list[Hit]]:
        """Top-k hits per query, best first; a (D,) query gives one list. k > N returns all N."""
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim == 1:
            queries = queries[None]
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise InputError(f"query vectors have shape {queries.shape}; this index holds {self.dim}-d vectors")
        if not np.isfinite(queries).all():
            raise InputError("query vectors must be finite")
        k = min(int(k), len(self))
        if len(queries) == 0 or k <= 0:
            return [[] for _ in queries]
        scores, rows = self._index.search(np.ascontiguousarray(queries), k)
        return [
            [Hit(self.ids[r], float(s), self.metadata[r]) for s, r in zip(score_row, row) if r >= 0]
            for score_row, row in zip(scores, rows)
        ]  # an IVF scan of few cells may find fewer than k: faiss pads with row -1

    # ------------------------------------------------------------------ persistence

    def save(self, directory: str | Path) -> Path:
        """Write the index directory atomically: readers see the old index or the new one, never half."""
        import faiss

        directory = Path(directory)
        with atomic_directory(directory) as staging:
            faiss.write_index(self._index, str(staging / FAISS_FILE))
            fsync_path(staging / FAISS_FILE)
            write_json(staging / JSON_FILE, {
                "format_version": FORMAT_VERSION, "kind": self.kind, "dim": self.dim, "count": len(self),
                "params": self.params, "info": self.info, "ids": self.ids, "metadata": self.metadata,
            })  # fmt: skip
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> VectorIndex:
        """Read an index directory; anything missing, corrupt or inconsistent is an InputError."""
        import faiss

        directory = Path(directory)
        missing = [name for name in (FAISS_FILE, JSON_FILE) if not (directory / name).is_file()]
        if missing:
            raise InputError(f"{directory} is not a vector index: {', '.join(missing)} missing "
                             f"(build one with python -m mmdemo.index)")
        try:
            header = json.loads((directory / JSON_FILE).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InputError(f"{directory / JSON_FILE} is not valid JSON ({error})") from None
        _check_header(header, directory)
        try:
            index = faiss.read_index(str(directory / FAISS_FILE))
        except RuntimeError as error:
            raise InputError(f"{directory / FAISS_FILE} is not a readable faiss index ({str(error).strip()})") from None
        if index.ntotal != header["count"] or index.d != header["dim"]:
            raise InputError(f"{directory}: {FAISS_FILE} holds {index.ntotal} x {index.d}-d vectors but {JSON_FILE} "
                             f"describes {header['count']} x {header['dim']}-d; rebuild the index")
        return cls(index, header["ids"], header["metadata"], header["kind"], header["params"], header["info"])


def _train_ivf(vectors: np.ndarray, config: VectorIndexConfig) -> tuple[Any, dict[str, Any]]:
    """An untrained-then-trained IVF index (flat or PQ lists) and the parameters it was built with."""
    import faiss

    n, dim = vectors.shape
    sample = vectors
    if n > config.train_max:
        rows = np.sort(np.random.default_rng(config.seed).choice(n, config.train_max, replace=False))
        sample = vectors[rows]
    _check_unit_rows(sample, 0)
    nlist = max(1, min(round(config.lists_per_sqrt_n * math.sqrt(n)), len(sample) // config.min_train_per_list))
    quantizer = faiss.IndexFlatIP(dim)
    codes = "flat" if n * dim * 4 <= config.flat_max_bytes else "pq"
    params: dict[str, Any] = {"nlist": nlist, "nprobe": min(config.nprobe, nlist), "codes": codes, "train_size": len(sample)}
    if codes == "flat":
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    else:
        needed = config.min_train_per_list << config.pq_bits
        if len(sample) < needed:
            raise InputError(f"PQ codes of {config.pq_bits} bits need at least {needed} training vectors, got {len(sample)}")
        m = max(d for d in range(1, min(config.pq_m, dim) + 1) if dim % d == 0)
        index = faiss.IndexIVFPQ(quantizer, dim, nlist, m, config.pq_bits, faiss.METRIC_INNER_PRODUCT)
        index.do_polysemous_training = False  # only helps Hamming-distance search, and costs minutes
        index.pq.cp.seed = config.seed
        params.update(pq_m=m, pq_bits=config.pq_bits)
    index.cp.seed = config.seed
    index.train(sample)
    index.nprobe = params["nprobe"]
    return index, params


def _check_unit_rows(chunk: np.ndarray, offset: int) -> None:
    norms = np.sqrt(np.einsum("ij,ij->i", chunk, chunk))
    bad = np.flatnonzero(~(np.abs(norms - 1.0) <= UNIT_NORM_TOLERANCE))  # NaN fails too
    if len(bad):
        row = int(bad[0])
        raise InputError(f"vector {offset + row} has norm {norms[row]:.4g}; the index stores unit-norm, finite vectors")


def _check_header(header: Any, directory: Path) -> None:
    where = directory / JSON_FILE
    if not isinstance(header, dict):
        raise InputError(f"{where} must hold a JSON object")
    if header.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{where} has format version {header.get('format_version')!r}; this mmdemo reads {FORMAT_VERSION}")
    expected = {"kind": str, "dim": int, "count": int, "params": dict, "info": dict, "ids": list, "metadata": list}
    wrong = [key for key, kind in expected.items() if not isinstance(header.get(key), kind)]
    if wrong:
        raise InputError(f"{where}: missing or mistyped field(s) {', '.join(wrong)}")
    if header["kind"] not in ("exact", "ivf"):
        raise InputError(f"{where}: unknown index kind {header['kind']!r}")
    if not all(isinstance(i, str) for i in header["ids"]) or not all(isinstance(m, dict) for m in header["metadata"]):
        raise InputError(f"{where}: ids must be strings and metadata records objects")
    if not len(header["ids"]) == len(header["metadata"]) == header["count"]:
        raise InputError(f"{where}: {len(header['ids'])} ids and {len(header['metadata'])} metadata records "
                         f"for {header['count']} vectors")
