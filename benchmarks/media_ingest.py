"""Media ingest: frames at 1 fps + 16 kHz mono audio of a 60 s 720p clip, mmdemo vs bare ffmpeg.

mmdemo probes the file once (as an ingesting caller does), hands the probe to
``read_frames`` and ``load_audio``, and each pipes ffmpeg's raw output into numpy. The
baseline runs the same two ffmpeg decodes (same filters, same output formats) with nothing
around them and only reads the bytes, so the ratio is the overhead of the library: the
probe, argument building, copying into arrays.

    python benchmarks/media_ingest.py [--repeats 5] [--seconds 60]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mmdemo.media.audio import load_audio  # noqa: E402
from mmdemo.media.ffmpeg import ffmpeg_exe  # noqa: E402
from mmdemo.media.video import probe, read_frames  # noqa: E402
from timing import timed  # noqa: E402  (benchmarks/timing.py)


def make_clip(path: Path, seconds: float) -> Path:
    """1280x720 30 fps H.264 + 48 kHz AAC test pattern, like a typical uploaded phone clip."""
    subprocess.run(
        [ffmpeg_exe(), "-y", "-loglevel", "error",
         "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=30:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "128k", "-shortest", "-movflags", "+faststart", str(path)],
        check=True,
    )  # fmt: skip
    return path


def bare_decode(path: Path) -> tuple[bytes, bytes]:
    """The same two decodes mmdemo runs, straight from ffmpeg to bytes."""
    frames = subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:V:0",
         "-vf", "fps=1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    audio = subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:a:0", "-vn",
         "-ac", "1", "-ar", "16000", "-f", "f32le", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return frames, audio


def mmdemo_decode(path: Path) -> tuple[np.ndarray, np.ndarray]:
    info = probe(path)
    frames, _ = read_frames(path, fps=1, info=info)
    return frames, load_audio(path, 16000, info=info)



def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="media ingest vs bare ffmpeg")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip_720p.mp4", args.seconds)
        bare_decode(clip)  # warm the page cache and the binary for both sides
        bare_times, lib_times = [], []
        for _ in range(args.repeats):  # interleaved, so machine load drifts hit both equally
            t, (raw_frames, raw_audio) = timed(bare_decode, clip)
            bare_times.append(t)
            t, (frames, audio) = timed(mmdemo_decode, clip)
            lib_times.append(t)
        same = frames.tobytes() == raw_frames and audio.tobytes() == raw_audio
        bare, lib = statistics.median(bare_times), statistics.median(lib_times)
        return {
            "benchmark": "media_ingest",
            "clip": {"seconds": args.seconds, "size": "1280x720", "fps": 30, "mb": round(clip.stat().st_size / 1e6, 2)},
            "outputs": {"frames": list(frames.shape), "audio_samples": int(audio.shape[0]), "identical_to_bare": same},
            "repeats": args.repeats,
            "cpu_count": os.cpu_count(),
            "bare_ffmpeg_s_median": round(bare, 3),
            "mmdemo_s_median": round(lib, 3),
            "ratio_mmdemo_over_bare": round(lib / bare, 3),
            "realtime_factor_mmdemo": round(args.seconds / lib, 1),
        }


if __name__ == "__main__":
    print(json.dumps(main()))
