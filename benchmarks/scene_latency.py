"""End-to-end latency of scene classification on a 10 s clip, split into its stages.

The real ``SceneClassifier.run`` (what ``/classify_scene`` calls) on a checkpoint set
(default: the bundled ``assets/checkpoints/scene``) and a clip (default: the first bundled
example), warm: one run to load the models, then ``--runs`` timed runs. The pipeline times its
own stages: ``decode`` (probe, 48 kHz audio, the sampled frames), ``audio`` / ``frames`` (each
model over its segments or frames), ``features`` (the CLIP image encoders for the fusion
network), ``fusion`` and ``ensemble``. The baseline, timed in the same run, is decoding alone
(``load_audio`` + ``read_frames`` of the same clip, the least any classifier has to do);
``ratio_over_decode`` is the whole request over it.

    python benchmarks/scene_latency.py [--clip FILE] [--checkpoints DIR] [--runs 5] [--device cpu]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmdemo.config import DEFAULT_ASSETS, Settings, set_offline_environment  # noqa: E402

set_offline_environment()

from mmdemo.media.audio import load_audio  # noqa: E402
from mmdemo.media.video import probe, read_frames  # noqa: E402
from mmdemo.pipelines.classify_scene import CHECKPOINT_DIR, SceneClassifier  # noqa: E402


def bare_decode(clip: Path) -> float:
    """Seconds to decode the clip's sound at 48 kHz and 12 frames, with nothing else."""
    started = time.perf_counter()
    info = probe(clip)
    if info.has_audio:
        load_audio(clip, sample_rate=48000, info=info)
    if info.has_video:
        read_frames(clip, fps=12 / max(info.duration, 1e-3), info=info)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=None)
    parser.add_argument("--checkpoints", type=Path, default=DEFAULT_ASSETS / "checkpoints" / CHECKPOINT_DIR)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    clip = args.clip or sorted((DEFAULT_ASSETS / "scene_examples").glob("*.mp4"))[0]

    classifier = SceneClassifier.from_dir(args.checkpoints, Settings(device=args.device))
    started = time.perf_counter()
    classifier.run(clip)
    first = time.perf_counter() - started
    totals, stages, decodes = [], {}, []
    for _ in range(args.runs):
        started = time.perf_counter()
        result = classifier.run(clip)
        totals.append(time.perf_counter() - started)
        for name, seconds in result.timings.items():
            stages.setdefault(name, []).append(seconds)
        decodes.append(bare_decode(clip))
    total, decode = statistics.median(totals), statistics.median(decodes)
    print(json.dumps({
        "clip": clip.name, "seconds": round(probe(clip).duration, 2), "device": args.device, "runs": args.runs,
        "first_request_ms": round(1000 * first, 1),
        "total_ms_median": round(1000 * total, 1),
        "stages_ms_median": {name: round(1000 * statistics.median(v), 1) for name, v in stages.items()},
        "baseline_bare_decode_ms_median": round(1000 * decode, 1),
        "ratio_over_decode": round(total / decode, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
