"""SQuAD-style reading examples from MedVidQA-layout data and from ``synthetic_qa``.

One example per question whose video has subtitles: the question; the video's caption lines
joined into one context (``mmdemo.models.span_qa.Transcript``, exactly as the reader reads a
video at evaluation and in the app); and as the answer, the caption text inside the gold time
span, with its character offset. "Inside" is the captions that overlap
[answer_start_second, answer_end_second] (``mmdemo.models.ccgs.span_targets``, the rule CCGS
trains on). Captions are read by ``load_medvidqa_corpus``, so they are cleaned as the search
index cleans them.

    python -m training.data.medvidqa_spans --medvidqa ../shared/data/medvidqa --synthetic 60 --out runs/span-data

writes the data folder ``python -m training extractive-qa`` reads:

- ``train.json``: the MedVidQA train questions, minus those of held-out videos, plus synthetic ones;
- ``val.json``: the held-out train videos' questions: the same videos the CCGS task holds out
  (``training.tasks.ccgs``, same fraction and seed), so the two are compared on one split;
- ``val_synthetic.json``: synthetic questions about other synthetic videos (another seed).

Without ``--medvidqa`` only synthetic data is written (train.json, val.json). Dev is never read.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Sequence

from mmdemo.data.medvidqa import load_medvidqa_corpus, load_questions
from mmdemo.data.squad import Answer, SquadExample, write_squad
from mmdemo.media.subtitles import Caption
from mmdemo.models.ccgs import span_targets
from mmdemo.models.span_qa import Transcript
from training.data.synthetic_qa import generate


def span_example(example_id: str, question: str, video_id: str, captions: Sequence[Caption],
                 start: float, end: float) -> SquadExample:
    """The question over the video's whole transcript; the answer is the captions inside [start, end] seconds."""
    transcript = Transcript.join([c.text for c in captions])
    first, last = span_targets([(c.start, c.end) for c in captions], start, end)
    a, b = transcript.char_span(first, last)
    return SquadExample(example_id, video_id, question, transcript.text, (Answer(transcript.text[a:b], a),))


def medvidqa_examples(data_dir: str | Path, split: str) -> list[SquadExample]:
    """Every question of ``questions/<split>.json`` whose video is in ``subtitles/<split>/``."""
    data_dir = Path(data_dir)
    videos = {v.video_id: v for v in load_medvidqa_corpus([data_dir / "subtitles" / split])}
    return [span_example(f"{split}-{r.get('sample_id', i)}", r["question"], r["video_id"], videos[r["video_id"]].captions,
                         float(r["answer_start_second"]), float(r["answer_end_second"]))
            for i, r in enumerate(load_questions(data_dir / "questions" / f"{split}.json")) if r["video_id"] in videos]


def synthetic_examples(num_videos: int, seed: int, prefix: str) -> list[SquadExample]:
    """Questions about ``training.data.synthetic_qa`` transcripts; answers are whole procedures."""
    videos, questions = generate(num_videos, seed=seed, prefix=prefix)
    captions = {v.video_id: v.captions for v in videos}
    return [span_example(f"{q.video_id}-{i}", q.question, q.video_id, captions[q.video_id], q.answer_start, q.answer_end)
            for i, q in enumerate(questions)]


def held_out_videos(video_ids: Sequence[str], fraction: float, seed: int) -> set[str]:
    """A ``fraction`` of the videos (at least one), drawn as ``training.tasks.ccgs`` draws its val videos."""
    asked = sorted(set(video_ids))
    random.Random(seed).shuffle(asked)
    return set(asked[: max(1, round(fraction * len(asked)))])


def write_dataset(out: Path, medvidqa: Path | None, synthetic: int, synthetic_val: int,
                  val_fraction: float = 0.2, seed: int = 0) -> dict[str, int]:
    """Write train.json / val.json (/ val_synthetic.json); returns the questions in each."""
    train = synthetic_examples(synthetic, seed, "synthetic") if synthetic else []
    val_synthetic = synthetic_examples(synthetic_val, seed + 1, "synthetic-val") if synthetic_val else []
    files = {"train.json": train}
    if medvidqa is not None:
        real = medvidqa_examples(medvidqa, "train")
        held = held_out_videos([e.title for e in real], val_fraction, seed)
        train += [e for e in real if e.title not in held]
        files.update({"val.json": [e for e in real if e.title in held], "val_synthetic.json": val_synthetic})
    else:
        files["val.json"] = val_synthetic
    for name, examples in files.items():
        if examples:
            write_squad(out / name, examples)
    return {name: len(examples) for name, examples in files.items()}


def main() -> None:
    import argparse
    import json

    parser = argparse.ArgumentParser(description="Write SQuAD-format reading data from MedVidQA train and/or synthetic videos.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--medvidqa", type=Path, help="a MedVidQA-layout folder; only its train split is read")
    parser.add_argument("--synthetic", type=int, default=0, help="synthetic videos added to train (about 3 questions each)")
    parser.add_argument("--synthetic-val", type=int, default=30, help="synthetic videos for the synthetic val file")
    parser.add_argument("--val-fraction", type=float, default=0.2, help="share of MedVidQA train videos held out")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(json.dumps(write_dataset(args.out, args.medvidqa, args.synthetic, args.synthetic_val, args.val_fraction, args.seed)))


if __name__ == "__main__":
    main()
