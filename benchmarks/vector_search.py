"""Text-to-audio search latency on a ``VectorIndex`` of 1k to 1M 1024-d vectors: exact against IVF.

Per size (default 1k, 50k = ``VectorIndexConfig.exact_max``, 100k and 1M), random unit vectors (1024-d, float32, generated in chunks) are indexed twice, with
``VectorIndexConfig(kind="exact")`` (the baseline) and ``kind="ivf"``, and each of ``--queries``
text queries is searched one at a time for its top 10, as the app asks. A query is "text in":
the bundled MiniLM encodes it and a fixed random 384 -> 1024 linear map, normalised, stands in
for the trained text tower's projection (query cost does not depend on the weights).
Reported: ``encode_ms`` and ``search_ms`` (medians), ``build_s``, the index's memory
(``VectorIndex.nbytes``), IVF's recall@10 against exact search, and the speed-up.
Threads: indexes are built with ``--threads`` (default 2; k-means is BLAS-bound), queries are
encoded and searched with ``--query-threads`` (default 1), faiss and torch alike. On a busy
2-core machine one query split over two threads waits for whichever was preempted: MiniLM took
50-490 ms per query with 2 torch threads against 14 ms with one, an exact 200k search 140 ms
with 2 faiss threads against 52 ms with one.

Random vectors have no cluster structure, IVF's worst case: every cell is as likely as any
other to hold a neighbour. So recall is also measured on a clustered set (``--clustered``
vectors scattered around 1,000 random centres, cosine about 0.7 to their centre; queries drawn
the same way), for IVF with flat lists and with PQ codes.

    python benchmarks/vector_search.py [--sizes 1000 50000 100000 1000000] [--queries 50] [--clustered 100000]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmdemo.config import set_offline_environment  # noqa: E402

set_offline_environment()

from mmdemo.models.encoders import TextEncoder  # noqa: E402
from mmdemo.retrieval.vector_index import VectorIndex, VectorIndexConfig  # noqa: E402
from timing import ms, timed  # noqa: E402  (benchmarks/timing.py)

DIM = 1024  # the dual encoder's shared embedding size
K = 10
CENTRES = 1000
CHUNK = 65_536  # vectors generated at a time
SOUNDS = ["a dog barks", "rain falls", "a car passes by", "birds chirp", "a door creaks open",
          "people talk and laugh", "a train horn blows", "water runs from a tap", "footsteps crunch on gravel",
          "wind howls"]
PLACES = ["in the distance", "on a tin roof", "close to the microphone", "in a busy street", "inside a large hall"]


@dataclass(frozen=True)
class Threads:
    build: int
    query: int


class TextQueries:
    """MiniLM + a fixed random projection to the index's dimension: the text tower's cost, not its weights."""

    def __init__(self, encoder: TextEncoder, seed: int) -> None:
        self.encoder = encoder
        rng = np.random.default_rng(seed)
        self.projection = (rng.standard_normal((encoder.dim, DIM)) / np.sqrt(encoder.dim)).astype(np.float32)

    def __call__(self, text: str) -> np.ndarray:
        vector = self.encoder.encode([text])[0] @ self.projection
        return vector / np.linalg.norm(vector)


def random_unit(n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, CHUNK):
        block = out[start : start + CHUNK]
        rng.standard_normal(out=block, dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
    return out


def clustered(n: int, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Points at cosine ~0.7 from a random centre each: noise of the same length as the centre."""
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, CHUNK):
        block = out[start : start + CHUNK]
        rng.standard_normal(out=block, dtype=np.float32)
        block /= np.sqrt(DIM)
        block += centres[rng.integers(0, len(centres), len(block))]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
    return out


def search_times(index: VectorIndex, queries: np.ndarray) -> tuple[float, list[set[str]]]:
    """Median seconds of a one-query top-10 search, and each query's top-10 ids."""
    index.search(queries[0], K)  # warm-up
    times, found = [], []
    for query in queries:
        seconds, hits = timed(index.search, query, K)
        times.append(seconds)
        found.append({h.id for h in hits[0]})
    return statistics.median(times), found


def use_threads(n: int) -> None:
    faiss.omp_set_num_threads(n)
    torch.set_num_threads(n)


def measure(vectors: np.ndarray, queries: np.ndarray, config: VectorIndexConfig,
            threads: Threads) -> tuple[dict, list[set[str]]]:
    """Build, then search one query at a time; the figures and each query's top-10 ids."""
    ids = [f"v{i}" for i in range(len(vectors))]
    use_threads(threads.build)
    build_s, index = timed(VectorIndex.build, vectors, ids, None, config)
    use_threads(threads.query)
    search_s, found = search_times(index, queries)
    figures = {"kind": index.kind, **index.params, "build_s": round(build_s, 2), "index_mb": round(index.nbytes / 2**20, 1),
               "search_ms_median": ms(search_s)}
    return figures, found


def recall(found: list[set[str]], truth: list[set[str]]) -> float:
    return round(float(np.mean([len(f & t) / K for f, t in zip(found, truth)])), 3)


def random_size(n: int, queries: np.ndarray, encode_s: list[float], seed: int, threads: Threads) -> dict:
    vectors = random_unit(n, np.random.default_rng(seed + n))
    exact, truth = measure(vectors, queries, VectorIndexConfig(kind="exact"), threads)
    ivf, found = measure(vectors, queries, VectorIndexConfig(kind="ivf", seed=seed), threads)
    ivf["recall_at_10"] = recall(found, truth)
    encode = statistics.median(encode_s)
    for figures in (exact, ivf):
        figures["text_to_top10_ms"] = round(ms(encode) + figures["search_ms_median"], 2)
    return {"size": n, "exact": exact, "ivf": ivf,
            "speedup_search_ivf_over_exact": round(exact["search_ms_median"] / ivf["search_ms_median"], 1),
            "speedup_text_to_top10": round(exact["text_to_top10_ms"] / ivf["text_to_top10_ms"], 2)}


def clustered_set(n: int, n_queries: int, seed: int, threads: Threads) -> dict:
    rng = np.random.default_rng(seed)
    centres = random_unit(CENTRES, rng)
    vectors, queries = clustered(n, centres, rng), clustered(n_queries, centres, rng)
    exact, truth = measure(vectors, queries, VectorIndexConfig(kind="exact"), threads)
    out = {"size": n, "centres": CENTRES, "exact": exact}
    for name, config in {"ivf_flat": VectorIndexConfig(kind="ivf", seed=seed),
                         "ivf_pq": VectorIndexConfig(kind="ivf", seed=seed, flat_max_bytes=0)}.items():
        out[name], found = measure(vectors, queries, config, threads)
        out[name]["recall_at_10"] = recall(found, truth)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="VectorIndex search latency and recall: exact against IVF")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 50_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=50, help="text queries timed per index")
    parser.add_argument("--clustered", type=int, default=100_000, help="size of the clustered set (0: skip)")
    parser.add_argument("--threads", type=int, default=2, help="faiss (OpenMP) threads while building indexes")
    parser.add_argument("--query-threads", type=int, default=1, help="faiss and torch threads while encoding and searching")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    threads = Threads(build=args.threads, query=args.query_threads)
    use_threads(threads.query)
    started, load_before = time.perf_counter(), os.getloadavg()
    load_s, encoder = timed(TextEncoder.from_config)
    to_vector = TextQueries(encoder, args.seed)
    texts = [f"{sound} {place}" for place in PLACES for sound in SOUNDS][: args.queries]
    to_vector(texts[0])  # warm-up
    encode_s, vectors = [], []
    for text in texts:
        seconds, vector = timed(to_vector, text)
        encode_s.append(seconds)
        vectors.append(vector)
    queries = np.stack(vectors).astype(np.float32)

    sizes = [random_size(n, queries, encode_s, args.seed, threads) for n in sorted(args.sizes)]
    result = {
        "benchmark": "vector_search",
        "faiss": faiss.__version__,
        "threads": {"build": threads.build, "query": threads.query},
        "cpu_count": os.cpu_count(),
        "dim": DIM,
        "k": K,
        "queries": len(texts),
        "query_encoder": "bundled MiniLM + fixed random 384->1024 projection, normalised "
                         "(a stand-in for the trained text tower)",
        "encoder_load_s": round(load_s, 2),
        "encode_ms_median": ms(statistics.median(encode_s)),
        "random": sizes,
    }  # fmt: skip
    if args.clustered:
        result["clustered"] = clustered_set(args.clustered, len(texts), args.seed, threads)
    result["loadavg_before"], result["loadavg_after"] = load_before, os.getloadavg()
    result["total_s"] = round(time.perf_counter() - started, 1)
    return result


if __name__ == "__main__":
    print(json.dumps(main()))
