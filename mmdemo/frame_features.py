"""Frame embeddings per video, cached on disk: ``python -m mmdemo.frame_features``.

CCGS (section 2, "Feature Extraction") and the captioner read visual features of sampled
frames. Embedding frames is the slow part, so it runs once per video and model: each video
gets ``<out>/<video_id>.safetensors`` with ``embeddings`` (N, D) and ``times`` (N,) in
seconds; a file made with the same settings is reused, a file that cannot be decoded is
reported and skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import numpy as np

from mmdemo.errors import InputError

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".avi", ".m4v")


def feature_path(out_dir: Path, video: Path) -> Path:
    return out_dir / f"{video.stem}.safetensors"


def load_frame_features(path: str | Path) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """(embeddings (N, D) float32, times (N,) seconds, settings they were made with)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as handle:
        return handle.get_tensor("embeddings"), handle.get_tensor("times"), handle.metadata() or {}


def extract(videos: Sequence[Path], out_dir: Path, fps: float = 1.0, encoder=None, max_frames: int = 3600) -> dict:
    """Embed the frames of every video not already cached with these settings; returns a report."""
    from safetensors.numpy import save_file
    from tqdm import tqdm

    from mmdemo.media.video import read_frames
    from mmdemo.models.encoders import ImageEncoder

    encoder = encoder or ImageEncoder.from_config()
    settings = {**{k: str(v) for k, v in asdict(encoder.config).items()}, "fps": str(fps)}
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {"embedded": [], "cached": [], "failed": {}}
    for video in tqdm(videos, desc="frame features", unit="video", file=sys.stderr):
        target = feature_path(out_dir, video)
        if target.is_file() and _same_settings(target, settings):
            report["cached"].append(video.stem)
            continue
        try:
            frames, times = read_frames(video, fps=fps, size=encoder.image_size, max_frames=max_frames)
        except InputError as error:
            report["failed"][video.name] = str(error)
            continue
        partial = target.with_suffix(".partial")
        save_file({"embeddings": encoder.encode(frames), "times": times.astype(np.float32)}, str(partial), metadata=settings)
        partial.replace(target)  # a killed run never leaves a truncated cache file
        report["embedded"].append(video.stem)
    return report


def _same_settings(path: Path, settings: dict[str, str]) -> bool:
    try:
        return load_frame_features(path)[2] == settings
    except Exception:  # an unreadable cache file is simply made again
        return False


def main(argv: Sequence[str] | None = None) -> int:
    from mmdemo.config import set_offline_environment
    from mmdemo.models.encoders import ImageEncoder, ImageEncoderConfig

    parser = argparse.ArgumentParser(prog="python -m mmdemo.frame_features", description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=Path, required=True, help="a folder of videos (or one video file)")
    parser.add_argument("--out", type=Path, required=True, help="folder for <video_id>.safetensors")
    parser.add_argument("--fps", type=float, default=1.0, help="frames embedded per second of video")
    parser.add_argument("--model", default=ImageEncoderConfig.model, help="open_clip architecture")
    parser.add_argument("--pretrained", default="", help='open_clip tag, e.g. "openai"; "" = random weights (offline)')
    args = parser.parse_args(argv)
    set_offline_environment()
    if args.videos.is_dir():
        videos = sorted(p for p in args.videos.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    else:
        videos = [args.videos]
    encoder = ImageEncoder.from_config(ImageEncoderConfig(model=args.model, pretrained=args.pretrained))
    print(json.dumps(extract(videos, args.out, args.fps, encoder)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
