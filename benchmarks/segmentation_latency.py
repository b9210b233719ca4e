"""What "Show segmentation" adds to a Scene request: segmenting the sampled frames, per frame.

The real ``FrameSegmenter.run`` (what the Scene tab calls when the box is ticked) on the frames
``SceneClassifier.run`` sampled from a clip (default: the first bundled example), against that
classification itself (what every Scene request costs), both warm and timed alternately in the
same run: one call each to load the models, then ``--runs`` timed pairs.
``ratio_segment_over_classify`` is what ticking the box multiplies the wait by, minus one.

    python benchmarks/segmentation_latency.py [--clip FILE] [--checkpoints DIR] [--runs 5] [--device cpu]

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

from mmdemo.pipelines.classify_scene import SceneClassifier  # noqa: E402
from mmdemo.pipelines.segment_frames import FrameSegmenter  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=None)
    parser.add_argument("--checkpoints", type=Path, default=DEFAULT_ASSETS / "checkpoints",
                        help="checkpoint root holding scene/ and segmentation/")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    clip = args.clip or min((DEFAULT_ASSETS / "scene_examples").glob("*.mp4"))
    settings = Settings(checkpoints_dir=args.checkpoints, device=args.device)
    classifier, segmenter = SceneClassifier.load(settings), FrameSegmenter.load(settings)

    frames = classifier.run(clip).frames
    segmenter.run(frames)
    classify, segment = [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        frames = classifier.run(clip).frames
        classify.append(time.perf_counter() - started)
        started = time.perf_counter()
        segmenter.run(frames)
        segment.append(time.perf_counter() - started)
    classify_s, segment_s = statistics.median(classify), statistics.median(segment)
    print(json.dumps({
        "clip": clip.name, "frames": len(frames), "frame_size": list(frames.shape[1:3]), "device": args.device,
        "runs": args.runs, "input_size": list(segmenter.model().config.input_size),
        "segment_ms_median": round(1000 * segment_s, 1),
        "segment_ms_per_frame": round(1000 * segment_s / len(frames), 1),
        "baseline_classify_ms_median": round(1000 * classify_s, 1),
        "ratio_segment_over_classify": round(segment_s / classify_s, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
