"""Synthetic instructional videos with "how do I ...?" questions and answer spans.

Each video is a transcript of timed captions: an intro, two to four procedures, an outro.
A procedure teaches one action on one body part ("stretch the hamstring") in several step
sentences; the question about it is a paraphrase, and its answer span is exactly the
procedure's captions. Distractor procedures in the same video share either the action or the
body part, so a model has to match both, and to find where a procedure begins and ends,
to answer: the structure the MedVidQA task has, at any scale, with known answers.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from mmdemo.media.subtitles import Caption

# (action, phrasing in steps, steps): each step may use {part}; the body part decides the noun.
ACTIONS = {
    "stretch": ("stretch", [
        "start by finding a comfortable position for your {part}",
        "slowly move the {part} until you feel a gentle pull",
        "hold the stretch for about twenty to thirty seconds",
        "breathe normally and do not bounce while you stretch the {part}",
        "release slowly and repeat the {part} stretch three times",
    ]),
    "strengthen": ("strengthen", [
        "to build strength in the {part} you only need a light resistance band",
        "press against the band with your {part} and keep the movement slow",
        "do ten repetitions and rest for a minute between sets",
        "add a second set once the {part} feels stronger",
    ]),
    "bandage": ("bandage", [
        "first clean your hands and check the {part} for any open wound",
        "hold the roll of bandage under the {part} and start wrapping below the injury",
        "overlap each turn by half the width of the bandage around the {part}",
        "finish above the injury and secure the end with a clip or tape",
        "check the fingers or toes for colour to make sure it is not too tight",
    ]),
    "massage": ("massage", [
        "warm up some oil in your hands before you massage the {part}",
        "use slow circular strokes with your thumbs along the {part}",
        "apply firmer pressure on tight spots but stop if it hurts",
        "finish with long gentle strokes over the whole {part}",
    ]),
    "ice": ("ice", [
        "wrap an ice pack in a thin towel so it never touches bare skin of the {part}",
        "place the pack on the sore part of the {part} for fifteen minutes",
        "take the ice off and let the {part} warm up for an hour",
        "repeat the cold treatment a few times a day for the first two days",
    ]),
    "examine": ("check", [
        "to check the {part} sit in good light and compare both sides",
        "look for swelling redness or a change in shape of the {part}",
        "gently press along the {part} and note any tender point",
        "move the {part} through its full range and notice any pain",
        "see a doctor if the {part} is numb hot or very swollen",
    ]),
}

BODY_PARTS = {
    "neck": ["neck", "cervical spine"],
    "shoulder": ["shoulder", "shoulder joint"],
    "wrist": ["wrist", "wrist joint"],
    "knee": ["knee", "knee joint"],
    "ankle": ["ankle", "ankle joint"],
    "lower back": ["lower back", "lumbar area"],
    "hamstring": ["hamstring", "back of the thigh"],
    "calf": ["calf", "calf muscle"],
    "elbow": ["elbow", "elbow joint"],
    "hip": ["hip", "hip joint"],
}

QUESTION_TEMPLATES = [
    "How do I {action} my {part}?",
    "How to {action} the {part}?",
    "What is the right way to {action} a {part}?",
    "How can I {action} my {part} at home?",
    "Show me how to {action} the {part}",
]

INTRO = [
    "hi everyone and welcome back to the channel",
    "today I am going to show you a few simple things you can do at home",
    "please talk to your doctor before you try anything new",
]
OUTRO = [
    "that is all for today thanks for watching",
    "if this video helped please like and subscribe",
]
FILLER = [
    "okay let us move on to the next one",
    "now here is another thing that people often ask about",
]


@dataclass(frozen=True)
class SyntheticQuestion:
    question: str
    video_id: str
    answer_start: float  # seconds
    answer_end: float
    video_length: float


@dataclass(frozen=True)
class SyntheticVideo:
    video_id: str
    captions: list[Caption]


def _procedures_for_video(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Pick procedures that overlap in action or body part, so matching one word is not enough."""
    action, part = rng.choice(list(ACTIONS)), rng.choice(list(BODY_PARTS))
    chosen = [(action, part)]
    while len(chosen) < count:
        if rng.random() < 0.5:
            candidate = (action, rng.choice(list(BODY_PARTS)))
        else:
            candidate = (rng.choice(list(ACTIONS)), part)
        if candidate not in chosen:
            chosen.append(candidate)
    rng.shuffle(chosen)
    return chosen


def _timed(rng: random.Random, lines: list[str], start: float) -> tuple[list[Caption], float]:
    captions = []
    for text in lines:
        duration = rng.uniform(2.0, 5.0)
        captions.append(Caption(start=round(start, 3), end=round(start + duration, 3), text=text))
        start += duration + rng.uniform(0.0, 0.4)
    return captions, start


def generate_video(rng: random.Random, video_id: str) -> tuple[SyntheticVideo, list[SyntheticQuestion]]:
    """One transcript and one question per procedure in it."""
    captions: list[Caption] = []
    spans: list[tuple[str, str, float, float]] = []
    clock = 0.0
    intro, clock = _timed(rng, INTRO[: rng.randint(1, len(INTRO))], clock)
    captions += intro
    for index, (action, part) in enumerate(_procedures_for_video(rng, rng.randint(2, 4))):
        if index:
            filler, clock = _timed(rng, [rng.choice(FILLER)], clock)
            captions += filler
        _, steps = ACTIONS[action]
        names = BODY_PARTS[part]
        lines = [step.format(part=rng.choice(names)) for step in steps[: rng.randint(3, len(steps))]]
        block, clock = _timed(rng, lines, clock)
        captions += block
        spans.append((action, part, block[0].start, block[-1].end))
    outro, clock = _timed(rng, OUTRO[: rng.randint(1, len(OUTRO))], clock)
    captions += outro
    length = round(captions[-1].end + 1.0, 3)
    questions = [
        SyntheticQuestion(
            question=rng.choice(QUESTION_TEMPLATES).format(action=ACTIONS[action][0], part=part),
            video_id=video_id,
            answer_start=start,
            answer_end=end,
            video_length=length,
        )
        for action, part, start, end in spans
    ]
    return SyntheticVideo(video_id=video_id, captions=captions), questions


def generate(num_videos: int, seed: int = 0, prefix: str = "syn") -> tuple[list[SyntheticVideo], list[SyntheticQuestion]]:
    """A deterministic corpus of ``num_videos`` transcripts and their questions."""
    rng = random.Random(seed)
    videos, questions = [], []
    for index in range(num_videos):
        video, video_questions = generate_video(rng, f"{prefix}{seed}_{index:05d}")
        videos.append(video)
        questions += video_questions
    return videos, questions


def write_medvidqa_layout(out_dir: str | Path, videos: list[SyntheticVideo], questions: list[SyntheticQuestion], split: str) -> None:
    """Write the same files MedVidQA ships, so every reader and trainer is exercised on them."""
    out_dir = Path(out_dir)
    (out_dir / "subtitles" / split).mkdir(parents=True, exist_ok=True)
    (out_dir / "questions").mkdir(parents=True, exist_ok=True)
    for video in videos:
        lines = [{"start": c.start, "duration": round(c.end - c.start, 3), "text": c.text} for c in video.captions]
        (out_dir / "subtitles" / split / f"{video.video_id}.json").write_text(json.dumps(lines), encoding="utf-8")
    records = [
        {
            "sample_id": index,
            "question": q.question,
            "answer_start_second": q.answer_start,
            "answer_end_second": q.answer_end,
            "video_length": q.video_length,
            "video_id": q.video_id,
        }
        for index, q in enumerate(questions)
    ]
    (out_dir / "questions" / f"{split}.json").write_text(json.dumps(records, indent=1), encoding="utf-8")


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Write a synthetic MedVidQA-layout dataset (train and val splits).")
    parser.add_argument("--out", required=True)
    parser.add_argument("--videos", type=int, default=400)
    parser.add_argument("--val-videos", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for split, count, seed in (("train", args.videos, args.seed), ("val", args.val_videos, args.seed + 1)):
        videos, questions = generate(count, seed=seed, prefix=f"{split}_")
        write_medvidqa_layout(args.out, videos, questions, split)


if __name__ == "__main__":
    main()
