"""Captioning latency for a 10 s clip: greedy and beam search, against decoding the frames alone.

The real ``VideoCaptioner.run`` (what ``/caption_video`` calls) with the bundled captioner (or
``--checkpoints DIR``) on a synthetic 10 s clip (``testsrc2``, 96x96, made with ffmpeg), warm:
one run loads the models, then ``--runs`` timed runs per setting. Settings: greedy (beam 1) and
beam search (``--beam``, default 4), each from the video only (V) and with a transcript (V+T).
The baseline, timed in the same run, is reading the frames the captioner samples
(``read_frames`` at the export's rate), which every captioner must do; ``ratio_over_decode``
is the request over it.

    python benchmarks/caption_latency.py [--checkpoints DIR] [--runs 5] [--beam 4] [--device cpu]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmdemo.config import DEFAULT_ASSETS, Settings, set_offline_environment  # noqa: E402

set_offline_environment()

from mmdemo.media.ffmpeg import ffmpeg_exe  # noqa: E402
from mmdemo.media.video import read_frames  # noqa: E402
from mmdemo.pipelines.caption_video import VideoCaptioner  # noqa: E402

TRANSCRIPT = "now the red circle will move to the left"


def median_seconds(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=Path, default=DEFAULT_ASSETS / "checkpoints")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    clip = Path(tempfile.mkdtemp()) / "clip.mp4"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", "testsrc2=size=96x96:rate=8:duration=10", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)],
                   check=True, timeout=120)
    captioner = VideoCaptioner.load(Settings(checkpoints_dir=args.checkpoints, device=args.device))
    started = time.perf_counter()
    captioner.run(clip)
    first = time.perf_counter() - started
    model, encoder, fps = captioner.models()
    decode = median_seconds(lambda: read_frames(clip, fps=fps, size=encoder.image_size,
                                                max_frames=model.config.max_frames), args.runs)
    settings = {"greedy_V": (None, 1), "greedy_V+T": (TRANSCRIPT, 1),
                f"beam{args.beam}_V": (None, args.beam), f"beam{args.beam}_V+T": (TRANSCRIPT, args.beam)}
    results = {}
    for name, (transcript, beam) in settings.items():
        seconds = median_seconds(lambda: captioner.run(clip, transcript=transcript, beam_size=beam), args.runs)
        results[name] = {"ms_median": round(1000 * seconds, 1), "ratio_over_decode": round(seconds / decode, 2)}
    print(json.dumps({"clip_seconds": 10.0, "device": args.device, "runs": args.runs, "frames_fps": fps,
                      "first_request_ms": round(1000 * first, 1),
                      "baseline_read_frames_ms_median": round(1000 * decode, 1), "settings": results}, indent=2))


if __name__ == "__main__":
    main()
