"""``/locate_answer`` latency against corpus size, and where the time goes.

For each size (default 50, 1,000 and 10,000 synthetic instructional videos with questions about
them, from ``training.data.synthetic_qa.generate``) this builds a ``CorpusIndex`` and times
questions the way the app answers them: the hybrid window scores once, then ``locate`` (top 5
videos x 5 spans) and the chosen video's ``timeline`` from those scores, then the answer clip
cut from a bundled demo video. The baseline,
in the same run and on the same index, is a BM25-only ``locate``.

Where the time goes, per hybrid query, from the index's public parts: encode the question,
BM25 scores, dense (faiss) scores, fusion (``window_scores`` minus those three), video
ranking + localisation (``locate`` minus ``window_scores``), the timeline of the chosen video,
and trimming the answer clip.

Dense window embeddings: encoding every caption window with MiniLM on a small CPU would take
far longer than this benchmark may run (hundreds of thousands of windows at 10,000 videos), and
query cost does not depend on the vectors' values. So the index is built by the real
``CorpusIndex.build`` with an encoder that returns random unit vectors for the corpus and
encodes questions for real; the encoding part of the build is measured on a sample of windows
and extrapolated (``encode_windows_s_estimated``).

    python benchmarks/locate_latency.py [--sizes 50 1000 10000] [--questions 6]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmdemo.config import set_offline_environment  # noqa: E402

set_offline_environment()

from mmdemo.media.video import trim_clip  # noqa: E402
from mmdemo.models.encoders import TextEncoder, TextEncoderConfig  # noqa: E402
from mmdemo.retrieval.corpus import Video  # noqa: E402
from mmdemo.retrieval.corpus_index import CorpusIndex  # noqa: E402
from training.data.synthetic_qa import generate  # noqa: E402
from timing import ms, timed  # noqa: E402  (benchmarks/timing.py)

TOP_K = 5  # what the app asks for (AnswerLocator.run default)
CLIP = ROOT / "assets" / "corpus" / "hands-only-cpr.mp4"




class CorpusStubEncoder:
    """The real encoder for single questions; random unit vectors for bulk corpus encoding."""

    def __init__(self, encoder: TextEncoder, seed: int) -> None:
        self.encoder = encoder
        self.rng = np.random.default_rng(seed)

    def encode(self, texts, batch_size: int = 64) -> np.ndarray:
        if len(texts) == 1:
            return self.encoder.encode(texts, batch_size)
        vectors = self.rng.standard_normal((len(texts), self.encoder.dim), dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def __getattr__(self, name: str):
        return getattr(self.encoder, name)


def encode_rate(encoder: TextEncoder, texts: list[str]) -> float:
    """Caption windows encoded per second (batch 64, as in ``CorpusIndex.build``)."""
    encoder.encode(texts[:64])  # warm-up
    seconds, _ = timed(encoder.encode, texts)
    return len(texts) / seconds


def stage_times(index: CorpusIndex, question: str, trim_dir: Path) -> dict[str, float]:
    """One hybrid query split into stages, each timed on its own."""
    t: dict[str, float] = {}
    t["encode_question"], vector = timed(index.encoder.encode, [question])
    t["bm25"], _ = timed(index.bm25.scores, question)
    t["dense_search"], _ = timed(index.dense.scores, vector[0])
    scoring, _ = timed(index.window_scores, question, "hybrid")
    t["fusion"] = max(0.0, scoring - t["encode_question"] - t["bm25"] - t["dense_search"])
    located, found = timed(index.locate, question, "hybrid", top_videos=TOP_K, top_spans=TOP_K)
    t["ranking_and_localization"] = max(0.0, located - scoring)
    scores = index.window_scores(question, "hybrid")
    t["timeline"], _ = timed(index.timeline, question, found[0].video_id, "hybrid", scores=scores)
    # synthetic videos have no media: cut a span of the same length (at most 30 s) from a demo clip
    length = min(found[0].end - found[0].start, 30.0)
    t["trimming"], _ = timed(trim_clip, CLIP, 2.0, 2.0 + length, trim_dir / f"answer_{time.perf_counter_ns()}.mp4")
    return t


def app_search(index: CorpusIndex, question: str) -> None:
    """What AnswerLocator.run does: score the windows once; locate and plot from those scores."""
    cosines = index.window_cosines(question)
    scores = index.window_scores(question, "hybrid", cosines)
    found = index.locate(question, "hybrid", top_videos=TOP_K, top_spans=TOP_K, scores=scores, cosines=cosines)
    index.timeline(question, found[0].video_id, "hybrid", scores=scores)


def query_times(index: CorpusIndex, questions: list[str]) -> dict[str, list[float]]:
    """End-to-end search calls, as the app makes them, and the BM25-only baseline."""
    out: dict[str, list[float]] = {"hybrid_locate": [], "app_search": [], "bm25_locate": []}
    for q in questions:
        located, found = timed(index.locate, q, "hybrid", top_videos=TOP_K, top_spans=TOP_K)
        out["hybrid_locate"].append(located)
        out["app_search"].append(timed(app_search, index, q)[0])
        out["bm25_locate"].append(timed(index.locate, q, "bm25", top_videos=TOP_K, top_spans=TOP_K)[0])
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="locate_answer latency vs corpus size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 1000, 10000])
    parser.add_argument("--questions", type=int, default=6, help="questions timed per size")
    parser.add_argument("--encode-sample", type=int, default=128, help="windows encoded to measure the encode rate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    load_s, encoder = timed(TextEncoder.from_config, TextEncoderConfig())
    largest, asked = generate(max(args.sizes), seed=args.seed, prefix="bench")  # smaller corpora are prefixes
    question_of = {}
    for question in asked:  # one question per video: the first one about it
        question_of.setdefault(question.video_id, question.question)
    rate = None
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(args.sizes):
            videos = [Video(v.video_id, tuple(v.captions)) for v in largest[:n]]
            build_s, index = timed(CorpusIndex.build, videos, CorpusStubEncoder(encoder, args.seed))
            if rate is None:
                rate = encode_rate(encoder, [w.text for w in index.windows[: args.encode_sample]])
            rng = np.random.default_rng(args.seed + n)
            picked = rng.choice(n, size=args.questions, replace=n < args.questions)
            questions = [question_of[videos[i].video_id] for i in picked]
            index.locate(questions[0], "hybrid", top_videos=TOP_K, top_spans=TOP_K)  # warm-up
            queries = query_times(index, questions)
            stages = [stage_times(index, q, Path(tmp)) for q in questions]
            hybrid = statistics.median(queries["hybrid_locate"])
            bm25_only = statistics.median(queries["bm25_locate"])
            results.append({
                "videos": n,
                "windows": len(index.windows),
                "build_s_without_encoding": round(build_s, 2),
                "encode_windows_s_estimated": round(len(index.windows) / rate, 1),
                "query_ms_median": {
                    "hybrid_locate": ms(hybrid),
                    "app_search_locate_plus_timeline": ms(statistics.median(queries["app_search"])),
                    "bm25_locate_baseline": ms(bm25_only),
                },
                "ratio_hybrid_over_bm25": round(hybrid / bm25_only, 2),
                "stages_ms_median": {k: ms(statistics.median(s[k] for s in stages)) for k in stages[0]},
            })  # fmt: skip
            del index

    first, last = results[0], results[-1]
    return {
        "benchmark": "locate_latency",
        "cpu_count": os.cpu_count(),
        "captions_per_video": [min(len(v.captions) for v in largest), max(len(v.captions) for v in largest)],
        "top_k": TOP_K,
        "encoder_load_s": round(load_s, 2),
        "encode_rate_windows_per_s": round(rate, 1),
        "sizes": results,
        "growth_hybrid_ms_largest_over_smallest": round(
            last["query_ms_median"]["hybrid_locate"] / first["query_ms_median"]["hybrid_locate"], 1
        ),
        "videos_ratio": last["videos"] / first["videos"],
    }


if __name__ == "__main__":
    print(json.dumps(main()))
