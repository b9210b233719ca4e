"""Frame embeddings per video, cached on disk: ``python -m mmdemo.frame_features``.

Two readers share one cache format:

Any ``ImageEncoder`` works: an open_clip model, or ``efficientnet_lite0`` with ``--pretrained imagenet``
(real ImageNet features, offline; ``mmdemo.models.efficientnet_lite0``).

- CCGS (section 2, "Feature Extraction") and the captioner read one open_clip model's
  embeddings of frames sampled at ``--fps``: ``--model NAME``, files straight in ``--out``;
- the scene classifier's CLIP late fusion (Okazaki et al., section 2.3) reads several models'
  embeddings of the section 2.2 frames, 12 per 10 s at equal intervals: ``--scene``, with
  ``--models`` (default RN50x4 RN101 ViT-B-32), one folder per model, ``--out/<model>/``.

Embedding frames is the slow part, so it runs once per video and model: each video gets
``<video_id>.safetensors`` with ``embeddings`` (N, D) and ``times`` (N,) in seconds; a file made
with the same settings is reused, a file that cannot be decoded is reported and skipped. A
video is decoded once for all the models whose files are missing or stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mmdemo.errors import InputError
from mmdemo.models.scene import FrameSceneConfig, FusionConfig, frame_indices

if TYPE_CHECKING:
    from mmdemo.media.video import MediaInfo
    from mmdemo.models.encoders import ImageEncoder, ImageEncoderConfig

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".avi", ".m4v")
SCENE_FEATURES_DIR = "clip_features"  # where the scene task and evaluation look under a TAU-layout --data
# Settings that decide what a scene feature file holds (batch size, say, does not).
SCENE_SETTING_KEYS = ("model", "pretrained", "seed", "frames_per_clip", "clip_seconds")
SCENE_FRAMES = FrameSceneConfig()  # section 2.2: 12 frames per 10 s

Report = dict  # {"embedded": [video ids], "cached": [video ids], "failed": {file name: reason}}


def feature_path(out_dir: Path, video: Path) -> Path:
    return out_dir / f"{video.stem}.safetensors"


def load_frame_features(path: str | Path) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """(embeddings (N, D) float32, times (N,) seconds, settings they were made with)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as handle:
        return handle.get_tensor("embeddings"), handle.get_tensor("times"), handle.metadata() or {}


def read_scene_frames(
    path: str | Path, config: FrameSceneConfig = SCENE_FRAMES, size: int | None = None,
    info: MediaInfo | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A clip's section 2.2 frames (scene paper) and their times: ``config.frames_per_clip`` per
    ``config.clip_seconds`` at the middles of equal intervals (``scene.frame_indices``), at least one.

    Decoded at twice that rate (at most the video's own) and then picked, so ffmpeg hands over
    about twice the frames kept, however long or high-resolution the video. ``size`` sets the
    shorter side, as in ``read_frames``.
    """
    from mmdemo.media.video import probe, read_frames

    info = info or probe(path)
    rate = 2 * config.frames_per_clip / config.clip_seconds
    rate = min(rate, info.fps) if info.fps else rate
    limit = 2 * round(config.frames_per_clip * info.duration / config.clip_seconds) + 2 if info.duration else None
    try:
        frames, times = read_frames(info.path, fps=rate, size=size, max_frames=limit, info=info)
    except InputError:
        if not info.fps or rate >= info.fps:
            raise
        # ffmpeg's fps filter drops a clip shorter than one output frame (a one-frame video)
        frames, times = read_frames(info.path, fps=info.fps, size=size, max_frames=limit, info=info)
    picked = frame_indices(len(frames), info.duration or len(frames) / rate, config)
    return frames[picked], times[picked]


def _embed_videos(
    videos: Sequence[Path], targets: Sequence[tuple[Path, ImageEncoder, dict[str, str]]],
    read: Callable[[Path, int], tuple[np.ndarray, np.ndarray]],
) -> list[Report]:
    """For every (folder, encoder, settings) target, the video's embeddings unless cached with
    the same settings; ``read(video, shorter side)`` decodes the frames, once per video."""
    from safetensors.numpy import save_file
    from tqdm import tqdm

    reports: list[Report] = [{"embedded": [], "cached": [], "failed": {}} for _ in targets]
    for out_dir, _, _ in targets:
        out_dir.mkdir(parents=True, exist_ok=True)
    for video in tqdm(videos, desc="frame features", unit="video", file=sys.stderr):
        stale = []
        for report, (out_dir, encoder, settings) in zip(reports, targets):
            target = feature_path(out_dir, video)
            if target.is_file() and _same_settings(target, settings):
                report["cached"].append(video.stem)
            else:
                stale.append((report, target, encoder, settings))
        if not stale:
            continue
        try:
            frames, times = read(video, max(encoder.image_size for _, _, encoder, _ in stale))
        except InputError as error:
            for report, *_ in stale:
                report["failed"][video.name] = str(error)
            continue
        for report, target, encoder, settings in stale:
            partial = target.with_suffix(".partial")
            save_file({"embeddings": encoder.encode(frames), "times": times.astype(np.float32)}, str(partial),
                      metadata=settings)
            partial.replace(target)  # a killed run never leaves a truncated cache file
            report["embedded"].append(video.stem)
    return reports


def _encoder_settings(encoder: ImageEncoder) -> dict[str, str]:
    return {k: str(v) for k, v in asdict(encoder.config).items()}


def extract(videos: Sequence[Path], out_dir: Path, fps: float = 1.0, encoder=None, max_frames: int = 3600) -> Report:
    """Embed the frames of every video not already cached with these settings; returns a report."""
    from mmdemo.media.video import read_frames
    from mmdemo.models.encoders import ImageEncoder

    encoder = encoder or ImageEncoder.from_config()
    settings = {**_encoder_settings(encoder), "fps": str(fps)}
    return _embed_videos(videos, [(out_dir, encoder, settings)],
                         lambda video, size: read_frames(video, fps=fps, size=size, max_frames=max_frames))[0]


def scene_settings(encoder_config: ImageEncoderConfig, frames: FrameSceneConfig) -> dict[str, str]:
    """What a scene feature file records: the encoder (name, weights, seed, ...) and the frame sampling."""
    return {**{k: str(v) for k, v in asdict(encoder_config).items()},
            "frames_per_clip": str(frames.frames_per_clip), "clip_seconds": str(frames.clip_seconds)}


def extract_scene(
    videos: Sequence[Path], out_dir: Path, encoders: Sequence[ImageEncoder], frames: FrameSceneConfig = SCENE_FRAMES,
) -> dict[str, Report]:
    """Every encoder's embeddings of each video's section 2.2 frames, in ``out_dir/<model>/``."""
    targets = [(out_dir / e.config.model, e, scene_settings(e.config, frames)) for e in encoders]
    reports = _embed_videos(videos, targets, lambda video, size: read_scene_frames(video, frames, size))
    return {encoder.config.model: report for encoder, report in zip(encoders, reports)}


def load_scene_features(
    out_dir: Path, video_id: str, encoders: Sequence[ImageEncoderConfig], frames: FrameSceneConfig = SCENE_FRAMES,
) -> dict[str, np.ndarray]:
    """{model: (N, D) embeddings} of one video from ``extract_scene``'s cache; a clear error
    when a file is missing or was made with other weights or another frame sampling."""
    found = {}
    for config in encoders:
        path = out_dir / config.model / f"{video_id}.safetensors"
        if not path.is_file():
            raise FileNotFoundError(f"no CLIP features at {path}; make them with: python -m mmdemo.frame_features "
                                    f"--scene --videos <video folder> --out {out_dir} --models {config.model}"
                                    + (f" --pretrained {config.pretrained}" if config.pretrained else ""))
        embeddings, _, settings = load_frame_features(path)
        wanted = scene_settings(config, frames)
        differ = [key for key in SCENE_SETTING_KEYS if settings.get(key) != wanted[key]]
        if differ:
            raise ValueError(f"{path} was made with other settings ({', '.join(f'{k}={settings.get(k)!r}' for k in differ)}); "
                             f"expected {', '.join(f'{k}={wanted[k]!r}' for k in differ)}")
        found[config.model] = embeddings
    if len({len(e) for e in found.values()}) > 1:
        raise ValueError(f"the cached CLIP features of {video_id} have different frame counts per model; remake them")
    return found


def _same_settings(path: Path, settings: dict[str, str]) -> bool:
    from safetensors import SafetensorError

    try:
        return load_frame_features(path)[2] == settings
    except (SafetensorError, OSError, ValueError):  # an unreadable cache file is simply made again
        return False


def main(argv: Sequence[str] | None = None) -> int:
    from mmdemo.config import set_offline_environment
    from mmdemo.models.encoders import ImageEncoder, ImageEncoderConfig

    parser = argparse.ArgumentParser(prog="python -m mmdemo.frame_features", description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=Path, required=True, help="a folder of videos (or one video file)")
    parser.add_argument("--out", type=Path, required=True, help="folder for <video_id>.safetensors")
    parser.add_argument("--fps", type=float, help="frames embedded per second of video (default 1; not with --scene)")
    parser.add_argument("--model", help=f"open_clip architecture or efficientnet_lite0 (default {ImageEncoderConfig.model}; "
                                        "not with --scene)")
    parser.add_argument("--pretrained", default="", help='open_clip tag, e.g. "openai"; "imagenet" for efficientnet_lite0 '
                                                         '(offline); "" = random weights')
    scene = parser.add_argument_group("scene late fusion (Okazaki et al., sections 2.2-2.3)")
    scene.add_argument("--scene", action="store_true",
                       help="embed the section 2.2 frames with every model in --models, into --out/<model>/")
    scene.add_argument("--models", nargs="+", metavar="MODEL",
                       help=f"open_clip architectures or efficientnet_lite0 (default: {' '.join(FusionConfig.encoders)})")
    scene.add_argument("--per-clip", type=int,
                       help=f"frames per {FrameSceneConfig.clip_seconds:g} s of video (default {FrameSceneConfig.frames_per_clip})")
    args = parser.parse_args(argv)
    if args.scene and (args.fps is not None or args.model is not None):
        parser.error("--fps and --model are for single-model features; with --scene use --models and --per-clip")
    if not args.scene and (args.models is not None or args.per_clip is not None):
        parser.error("--models and --per-clip need --scene")
    set_offline_environment()
    if args.videos.is_dir():
        videos = sorted(p for p in args.videos.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    else:
        videos = [args.videos]
    if args.scene:
        names = args.models or FusionConfig.encoders
        encoders = [ImageEncoder.from_config(ImageEncoderConfig(model=name, pretrained=args.pretrained)) for name in names]
        frames = FrameSceneConfig(frames_per_clip=args.per_clip or FrameSceneConfig.frames_per_clip)
        print(json.dumps(extract_scene(videos, args.out, encoders, frames)))
    else:
        encoder = ImageEncoder.from_config(ImageEncoderConfig(model=args.model or ImageEncoderConfig.model,
                                                              pretrained=args.pretrained))
        print(json.dumps(extract(videos, args.out, 1.0 if args.fps is None else args.fps, encoder)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
