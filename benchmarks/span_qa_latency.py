"""Extractive QA latency per question over a 10-minute transcript, against the zero-shot localizer.

A 10-minute transcript is made by laying ``training.data.synthetic_qa`` videos end to end (each
keeps its captions, shifted in time) until the captions reach ``--minutes``; the questions are
the generator's own questions about those videos. Per question, warm, medians over
``--questions``:

- ``reader``: ``SpanQA.answer_sentences`` over the whole transcript, what ``--method span-qa``
  runs per candidate video: every window of the transcript (``max_length`` tokens, overlapping
  by ``doc_stride``) through the encoder, then span decoding;
- baseline, same run, same transcript: the zero-shot hybrid localizer (``CorpusIndex.locate``
  on a one-video index, built once beforehand), what the app answers with by default.

The reader is the bundled export (``--checkpoint``, default assets/checkpoints/span_qa).

    python benchmarks/span_qa_latency.py [--checkpoint DIR] [--minutes 10] [--questions 6]

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

from mmdemo.config import DEFAULT_ASSETS, set_offline_environment  # noqa: E402

set_offline_environment()

from mmdemo.media.subtitles import Caption  # noqa: E402
from mmdemo.models.encoders import TextEncoder, TextEncoderConfig  # noqa: E402
from mmdemo.models.factory import SPAN_QA, load_model  # noqa: E402
from mmdemo.retrieval.corpus import Video  # noqa: E402
from mmdemo.retrieval.corpus_index import CorpusIndex  # noqa: E402
from training.data.synthetic_qa import generate  # noqa: E402
from timing import ms, timed  # noqa: E402  (benchmarks/timing.py)


def long_transcript(minutes: float, seed: int) -> tuple[list[Caption], list[str]]:
    """Synthetic videos end to end until ``minutes`` of captions; and their questions."""
    videos, questions = generate(60, seed=seed, prefix="long")
    captions: list[Caption] = []
    used = set()
    for video in videos:
        offset = captions[-1].end + 1.0 if captions else 0.0
        captions += [Caption(c.start + offset, c.end + offset, c.text) for c in video.captions]
        used.add(video.video_id)
        if captions[-1].end >= 60 * minutes:
            break
    return captions, [q.question for q in questions if q.video_id in used]


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_ASSETS / "checkpoints" / "span_qa")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--questions", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    load_before = os.getloadavg()
    load_s, reader = timed(load_model, args.checkpoint, SPAN_QA)
    captions, questions = long_transcript(args.minutes, args.seed)
    questions = questions[: args.questions]
    texts = [c.text for c in captions]
    index = CorpusIndex.build([Video("long", tuple(captions))], TextEncoder.from_config(TextEncoderConfig()))

    reader.answer_sentences(questions[0], texts)  # warm-up: first calls allocate
    index.locate(questions[0], "hybrid", top_videos=1, top_spans=1)
    reader_s, zero_shot_s = [], []
    for question in questions:
        reader_s.append(timed(reader.answer_sentences, question, texts)[0])
        zero_shot_s.append(timed(index.locate, question, "hybrid", top_videos=1, top_spans=1)[0])
    windows = reader.tokenize([questions[0]], [" ".join(texts)])
    reader_median, zero_shot_median = statistics.median(reader_s), statistics.median(zero_shot_s)
    return {
        "benchmark": "span_qa_latency",
        "cpu_count": os.cpu_count(),
        "reader": str(args.checkpoint),
        "reader_config": {k: getattr(reader.config, k) for k in ("max_length", "doc_stride", "max_answer_tokens")},
        "reader_load_s": round(load_s, 2),
        "transcript_seconds": round(captions[-1].end, 1),
        "captions": len(captions),
        "transcript_tokens": len(reader.tokenizer(" ".join(texts), add_special_tokens=False)["input_ids"]),
        "windows_per_question": len(windows.example),
        "questions": len(questions),
        "reader_ms_median": ms(reader_median),
        "zero_shot_locate_ms_median": ms(zero_shot_median),
        "ratio_reader_over_zero_shot": round(reader_median / zero_shot_median, 1),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }


if __name__ == "__main__":
    print(json.dumps(main()))
