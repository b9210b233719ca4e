"""SQuAD-sized reading examples from a whole-article SQuAD file such as COVID-QA.

COVID-QA's contexts are whole articles (about 6,500 MiniLM tokens, some 25 windows a question),
SQuAD's are paragraphs (about 150). The pretrained-vs-scratch study ("pretrained vs scratch",
section 3.2, table 5) trains both inits on SQuAD; to run it in kind on a CPU budget, each
question here is asked over the one line (paragraph) of its article that holds its answer:

    python -m training.data.covidqa_paragraphs --squad ../shared/data/covidqa --train-questions 300 --out runs/covidqa-paragraphs

writes ``train.json`` and ``val.json`` (the source's questions, split as they are; with
``--train-questions N`` a seeded sample of N train questions, for CPU budgets).
Offsets are repaired as ``mmdemo.data.squad.load_squad`` repairs them; a question whose answer runs
over a line break is left out and counted.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from mmdemo.data.squad import Answer, SquadExample, SquadFile, load_squad, write_squad

SPLITS = ("train.json", "val.json")


def paragraph_example(example: SquadExample) -> SquadExample | None:
    """The question over the line of its context that holds its first answer; None if the answer spans lines."""
    answer = example.answers[0]
    start = example.context.rfind("\n", 0, answer.start) + 1
    end = example.context.find("\n", answer.start)
    end = len(example.context) if end < 0 else end
    if answer.start + len(answer.text.rstrip()) > end:
        return None
    return replace(example, context=example.context[start:end],
                   answers=(Answer(answer.text.rstrip(), answer.start - start),))


def write_paragraphs(squad_dir: Path, out: Path, max_shift: int = 100, train_questions: int = 0,
                     seed: int = 0) -> dict[str, str]:
    """train.json / val.json of paragraph examples; per file, what was repaired, dropped, kept."""
    report = {}
    for name in SPLITS:
        source: SquadFile = load_squad(Path(squad_dir) / name, max_shift)
        kept = [p for p in map(paragraph_example, source.examples) if p is not None]
        line = f"{source.summary()}; {len(source.examples) - len(kept)} answers span a line break"
        if name == "train.json" and 0 < train_questions < len(kept):
            kept = random.Random(seed).sample(kept, train_questions)
        write_squad(Path(out) / name, kept)
        report[name] = f"{line}; {len(kept)} written"
    return report


def main() -> None:
    import argparse
    import json

    parser = argparse.ArgumentParser(description="Write paragraph-sized SQuAD files from whole-article ones (COVID-QA).")
    parser.add_argument("--squad", type=Path, required=True, help="folder with train.json and val.json")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-shift", type=int, default=100, help="characters an answer_start may be off and be repaired")
    parser.add_argument("--train-questions", type=int, default=0, help="a seeded sample of this many train questions; 0 = all")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(json.dumps(write_paragraphs(args.squad, args.out, args.max_shift, args.train_questions, args.seed)))


if __name__ == "__main__":
    main()
