"""Playing an answer: what the QA tab does now against the re-encode it did before (issue 17).

On the bundled corpus, one warm question with five answers; then, for each answer, the time to
have a file the player can load:
- now: ``AnswerLocator.play``: the whole video when a browser plays it as it is (no ffmpeg; the
  player is moved to the answer), a stream-copy re-wrap, or a re-encode of the answer only;
- baseline: cutting the answer with a libx264 re-encode, as every answer was played before
  (``trim_clip`` on the same file, its streams treated as ones no browser plays).
Also the warm question itself, for scale. Medians over ``--runs`` rounds of every answer.

    python benchmarks/answer_playback.py [--runs 3]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from dataclasses import replace
from pathlib import Path

from timing import ms, timed  # benchmarks/timing.py

QUESTION = "How do I do a chin tuck for neck pain?"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="time to play an answer: whole video vs re-encoded clip")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    from mmdemo.config import Settings
    from mmdemo.media.video import probe, trim_clip
    from mmdemo.pipelines.locate_answer import AnswerLocator

    locator = AnswerLocator.load(Settings())
    locator.warm_up()
    with tempfile.TemporaryDirectory() as work:
        locator.run(QUESTION, top_k=5, work_dir=work)  # warms the text encoder's first call
        ask_seconds, result = timed(locator.run, QUESTION, top_k=5, work_dir=work)
        now, before, kinds = [], [], set()
        for _ in range(args.runs):
            for index, candidate in enumerate(result.candidates):
                seconds, playback = timed(locator.play, result, index, work)
                now.append(seconds)
                kinds.add("whole video" if playback.offset == 0.0 else "answer clip")
                media = result.sources[candidate["video_id"]].media_path
                unplayable = replace(probe(media), video_codec="unplayable")  # forces the re-encode path
                out = Path(work) / f"before-{index}.mp4"
                before.append(timed(trim_clip, media, candidate["start"], candidate["end"], out, info=unplayable)[0])
    play_now, play_before = statistics.median(now), statistics.median(before)
    return {
        "benchmark": "answer_playback",
        "runs": args.runs,
        "answers": len(result.candidates),
        "cpu_count": os.cpu_count(),
        "warm_question_ms": ms(ask_seconds),
        "play_another_answer_ms_median": ms(play_now),
        "baseline_reencode_answer_ms_median": ms(play_before),
        "ratio_play_over_reencode": round(play_now / play_before, 3),
        "played_as": sorted(kinds),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
