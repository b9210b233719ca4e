"""CCGS answer latency per question with K = 5, 20, 50 candidate videos, against the first stage alone.

Corpus: ``--videos`` (default 60) synthetic transcripts from ``training.data.synthetic_qa.generate``
(10-22 caption sentences each), indexed by the real ``CorpusIndex.build`` with the bundled
MiniLM encoder (so ``hybrid`` works; ``--method bm25`` skips the encoder). Model: a CCGS with
the default ``CCGSConfig`` on the pretrained bundled MiniLM (untrained heads: latency does not
depend on the weights' values), in eval mode, torch's default threads (``--threads N`` sets
them; on a machine shared with another job, one thread can be much faster than two).

Per question (``--questions``, default 5, each asked once per K after one warm-up answer):

- ``first_stage``: ``index.rank_videos(q, method)``, the call ``CCGSSearch.answer`` starts
  with; the baseline, timed in the same loop on the same index;
- ``bm25_first_stage``: the same call with ``method="bm25"``, for reference;
- ``ccgs_answer``: ``CCGSSearch(index, model, method, CCGSSearchConfig(top_videos=K)).answer(q)``,
  end to end: first stage, then CCGS over the top K videos in forwards of ``chunk_videos`` (4)
  videos under ``torch.inference_mode``, span ranking, near-copy suppression and reordering.

Then, when torch uses more than one thread, the smallest K again with ``torch.set_num_threads(1)``
(``k5_answer_ms_median_1_thread``): on a machine shared with another job, a multi-threaded op
waits for its slowest thread, and one thread can be several times faster than two.

``ccgs_ms_per_video`` is (answer - first stage) / K. Ratios: ``ratio_over_k5`` (the growth
with K) and ``ratio_over_first_stage`` (what CCGS costs on top of the retrieval it reranks).

    python benchmarks/ccgs_inference.py [--ks 5 20 50] [--questions 5] [--videos 60] [--method hybrid] [--threads N]

About 3 minutes with the defaults on 2 busy cores (index build ~20 s, then 5 x (5 + 20 + 50) videos).

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmdemo.config import set_offline_environment  # noqa: E402

set_offline_environment()

import torch  # noqa: E402

from mmdemo.models.ccgs import CCGS, CCGSConfig  # noqa: E402
from mmdemo.models.encoders import TextEncoder, TextEncoderConfig  # noqa: E402
from mmdemo.retrieval.ccgs_search import CCGSSearch, CCGSSearchConfig  # noqa: E402
from mmdemo.retrieval.corpus import Video  # noqa: E402
from mmdemo.retrieval.corpus_index import CorpusIndex  # noqa: E402
from training.data.synthetic_qa import generate  # noqa: E402
from timing import ms, timed  # noqa: E402  (benchmarks/timing.py)




def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="CCGS answer latency vs number of candidate videos")
    parser.add_argument("--ks", type=int, nargs="+", default=[5, 20, 50], help="candidate videos CCGS scores")
    parser.add_argument("--questions", type=int, default=5, help="questions timed per K")
    parser.add_argument("--videos", type=int, default=60, help="corpus size (at least max K)")
    parser.add_argument("--method", choices=["hybrid", "bm25"], default="hybrid", help="first stage")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads; 0 = torch's default")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    ks = sorted(args.ks)
    if args.videos < ks[-1]:
        parser.error("--videos must be at least the largest K")

    load_before = [round(x, 2) for x in os.getloadavg()]
    synthetic, questions = generate(args.videos, seed=args.seed)
    videos = [Video(v.video_id, tuple(v.captions), None, "") for v in synthetic]
    encoder = TextEncoder.from_config(TextEncoderConfig()) if args.method == "hybrid" else None
    build_s, index = timed(CorpusIndex.build, videos, encoder)
    model_s, model = timed(CCGS.from_config, CCGSConfig(), True)
    model.eval()
    step = max(1, len(questions) // args.questions)  # spread over the corpus
    asked = [q.question for q in questions[::step][: args.questions]]
    searches = {k: CCGSSearch(index, model, args.method, CCGSSearchConfig(top_videos=k)) for k in ks}
    chunk = CCGSSearchConfig().chunk_videos
    warmup_s, _ = timed(searches[ks[0]].answer, asked[0])

    first: list[float] = []
    bm25: list[float] = []
    answer: dict[int, list[float]] = {k: [] for k in ks}
    ccgs_only: dict[int, list[float]] = {k: [] for k in ks}
    for q in asked:
        stage, _ = timed(index.rank_videos, q, args.method)
        first.append(stage)
        bm25.append(timed(index.rank_videos, q, "bm25")[0])
        for k in ks:
            total, _ = timed(searches[k].answer, q)
            answer[k].append(total)
            ccgs_only[k].append(max(0.0, total - stage))

    # Thread check, same run: K = smallest again with one intra-op thread (see the module doc).
    threads = torch.get_num_threads()
    one_thread = None
    if threads > 1:
        torch.set_num_threads(1)
        one_thread = statistics.median(timed(searches[ks[0]].answer, q)[0] for q in asked)
        torch.set_num_threads(threads)

    first_ms = statistics.median(first)
    base = statistics.median(answer[ks[0]])
    per_k = []
    for k in ks:
        med = statistics.median(answer[k])
        per_k.append({
            "k": k,
            "forwards": -(-k // chunk),
            "answer_ms_median": ms(med),
            "ccgs_ms_median": ms(statistics.median(ccgs_only[k])),
            "ccgs_ms_per_video": ms(statistics.median(ccgs_only[k]) / k),
            "answer_ms_all": [ms(t) for t in answer[k]],
            f"ratio_over_k{ks[0]}": round(med / base, 2),
            "ratio_over_first_stage": round(med / first_ms, 1),
        })  # fmt: skip
    sentences = [len(v.captions) for v in videos]
    return {
        "benchmark": "ccgs_inference",
        "cpu_count": os.cpu_count(),
        "torch_threads": threads,
        "loadavg_before": load_before,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "method": args.method,
        "corpus_videos": len(videos),
        "corpus_windows": len(index.windows),
        "sentences_per_video": {"min": min(sentences), "median": statistics.median(sentences), "max": max(sentences)},
        "questions": len(asked),
        "index_build_s": round(build_s, 2),
        "model_load_s": round(model_s, 2),
        "warmup_answer_ms": ms(warmup_s),
        "first_stage_ms_median": ms(first_ms),
        "bm25_first_stage_ms_median": ms(statistics.median(bm25)),
        "per_k": per_k,
        f"k{ks[0]}_answer_ms_median_1_thread": ms(one_thread) if one_thread is not None else None,
        f"ratio_k{ks[0]}_threads{threads}_over_1_thread": round(base / one_thread, 2) if one_thread else None,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
