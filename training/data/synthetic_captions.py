"""Synthetic captioned clips with transcripts, for training and testing the video captioner.

Video captioning (MELTR section 5, YouCook2 / MSRVTT) needs clips whose captions describe what
happens in them. Each clip here is a few seconds of coloured shapes on a plain background doing
one thing:

- move: a shape moves left, right, up or down;
- change: a shape changes colour;
- appear: a shape appears out of nothing;
- collide: two shapes run into each other.

Captions come from varied templates ("a red circle slides to the left", "the square changes
colour from blue to yellow"). Each clip also has a transcript, a spoken-style sentence with its
timing, as a narrator would say it ("now the red circle will move to the left"). The transcript
helps in the V+T setting (video + transcript, MELTR section 5): some clips are filmed in dim light, where colours are
hard to tell apart, and their transcript always names the colours; elsewhere it names the
object, only its colour, only the action, or nothing useful ("okay, here we go").

The "val" split holds only clips with a combination never seen in "train"
(``HELD_OUT``: a colour on a shape, or an action done by a shape), while every colour, shape
and action on its own is in train: it measures whether a captioner composes what it learned.

Every clip is drawn from its own seeded generator (clip i is the same whatever the split's
size) and x264 runs single-threaded and bitexact, so the same command writes the same bytes::

    python -m training.data.synthetic_captions --out DIR [--train 800] [--val 200] [--seed 0]

writes ``DIR/videos/<video_id>.mp4`` (H.264), ``DIR/annotations.json`` in the MSRVTT layout
(``mmdemo.data.caption_annotations.read_msrvtt`` reads it; each video entry also records its
content), ``DIR/transcripts.json`` (``{video_id: [{"start", "end", "text"}, ...]}``, seconds;
``mmdemo.data.caption_annotations.read_transcripts`` joins them) and ``DIR/README.txt``. Frame
features are not computed here: run ``python -m mmdemo.frame_features --videos DIR/videos
--out ... --fps ...`` for them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mmdemo.media.ffmpeg import ffmpeg_exe


@dataclass(frozen=True)
class SyntheticCaptionConfig:
    seconds: float = 4.0
    size: int = 96  # frames are size x size pixels
    fps: int = 8
    captions_per_clip: int = 3  # MSRVTT has about 20 per clip; three templates suffice here
    dim_probability: float = 0.25  # clips in dim light: colours are hard to see, the transcript names them


COLOURS = {"red": (225, 35, 35), "green": (40, 185, 60), "blue": (45, 85, 235), "yellow": (240, 215, 40),
           "purple": (150, 55, 205), "orange": (250, 140, 25)}
SHAPES = ("circle", "square", "triangle", "diamond")
EVENTS = ("move", "change", "appear", "collide")
DIRECTIONS = ("left", "right", "up", "down")
ACTIONS = (*DIRECTIONS, "change", "appear", "collide")  # what a shape does, as HELD_OUT names it

# Combinations no training clip shows: ("colour", colour, shape) and ("action", shape, action).
HELD_OUT = frozenset({
    ("colour", "green", "triangle"), ("colour", "purple", "circle"), ("colour", "orange", "square"),
    ("colour", "red", "diamond"), ("action", "circle", "up"), ("action", "square", "appear"),
    ("action", "triangle", "collide"), ("action", "diamond", "left"),
})

DIRECTION_WORDS = {"left": ("to the left", "left", "leftwards"), "right": ("to the right", "right", "rightwards"),
                   "up": ("up", "upwards", "towards the top"), "down": ("down", "downwards", "towards the bottom")}
CAPTION_TEMPLATES = {  # {A}/{B}: "a red circle"; {THE_A}: "the red circle"; {S}: shape; {C}, {C2}: colours
    "move": ("{A} moves {D}", "{THE_A} slides {D}", "{A} travels {D} across the screen", "{A} is moving {D}",
             "{A} glides {D}"),
    "change": ("{A} turns {C2}", "the {S} changes colour from {C} to {C2}", "{A} becomes {C2}",
               "{THE_A} changes to {C2}", "{A} slowly turns {C2}"),
    "appear": ("{A} appears", "{A} pops up", "{A} shows up on the screen", "suddenly {A} appears",
               "{A} appears out of nowhere"),
    "collide": ("{A} and {B} collide", "{A} bumps into {B}", "{THE_A} and {THE_B} crash into each other",
                "{A} collides with {B}", "{A} and {B} run into each other"),
}
TRANSCRIPT_TEMPLATES = {  # what the narrator says before the event, by how much it gives away
    "full": {
        "move": ("now the {C} {S} will move {D}", "watch the {C} {S}, it is going {D}",
                 "okay so this {C} {S} is about to slide {D}"),
        "change": ("the {C} {S} is about to turn {C2}", "watch this {C} {S} change into {C2}",
                   "now this {C} {S} will become {C2}"),
        "appear": ("in a moment a {C} {S} will show up", "wait for the {C} {S}, it is coming",
                   "keep watching, a {C} {S} is about to appear"),
        "collide": ("the {C} {S} and the {C2} {S2} are going to crash", "watch the {C} {S} run into the {C2} {S2}",
                    "here the {C} {S} meets the {C2} {S2}"),
    },
    "colour": {
        "move": ("keep an eye on the {C} one", "look at this {C} thing here"),
        "change": ("see this {C} one, it will end up {C2}", "the {C} one will not stay {C} for long, it goes {C2}"),
        "appear": ("something {C} is coming", "get ready for something {C}"),
        "collide": ("here come the {C} one and the {C2} one", "look at the {C} one and the {C2} one"),
    },
    "action": {
        "move": ("this one is going to move {D}", "and now it heads {D}"),
        "change": ("this shape is going to change colour", "watch the colour of this one"),
        "appear": ("wait for it, something is about to appear", "the screen will not stay empty for long"),
        "collide": ("these two are heading straight for each other", "watch these two crash"),
    },
    "none": {event: ("alright, let's see what happens here", "okay, here we go", "so, this is the next clip",
                     "let me show you this one") for event in EVENTS},
}
AFTERWORDS = ("there it goes", "and that's it", "nice", "did you see that")
TRANSCRIPT_KINDS = {"full": 0.4, "colour": 0.2, "action": 0.2, "none": 0.2}  # clips in good light
WORDS_PER_SECOND = 2.8  # a calm narrator


@dataclass(frozen=True)
class Thing:
    shape: str
    colour: str


@dataclass(frozen=True)
class ClipSpec:
    """What one clip shows: an ``event`` done by ``thing`` (with ``other`` for collide)."""

    event: str
    thing: Thing
    other: Thing | None = None  # collide: the second shape
    direction: str | None = None  # move
    new_colour: str | None = None  # change
    dim: bool = False  # dim light: colours hard to tell apart
    transcript: str = "full"  # a key of TRANSCRIPT_TEMPLATES: how much the narrator gives away

    @property
    def things(self) -> tuple[Thing, ...]:
        return (self.thing,) if self.other is None else (self.thing, self.other)

    @property
    def slug(self) -> str:
        """A file-name summary, e.g. ``red-circle-move-left``."""
        parts = [self.thing.colour, self.thing.shape, self.event]
        if self.event == "collide" and self.other is not None:
            parts += [self.other.colour, self.other.shape]
        parts += [self.direction or self.new_colour or ""]
        return "-".join(p for p in parts if p)


def combinations(spec: ClipSpec) -> set[tuple[str, str, str]]:
    """The (colour on shape) and (shape doing action) combinations a clip shows."""
    shown = {("colour", t.colour, t.shape) for t in spec.things}
    if spec.new_colour:
        shown.add(("colour", spec.new_colour, spec.thing.shape))
    action = spec.direction if spec.event == "move" else spec.event
    return shown | {("action", t.shape, action) for t in spec.things}


def is_held_out(spec: ClipSpec) -> bool:
    return bool(combinations(spec) & HELD_OUT)


def draw_spec(event: str, rng: random.Random, config: SyntheticCaptionConfig) -> ClipSpec:
    """A random clip content for ``event``."""
    colours = rng.sample(sorted(COLOURS), 2)
    thing = Thing(rng.choice(SHAPES), colours[0])
    dim = rng.random() < config.dim_probability
    kinds = ["full", "colour"] if dim else list(TRANSCRIPT_KINDS)  # dim clips: the narrator names the colours
    transcript = rng.choices(kinds, weights=[TRANSCRIPT_KINDS[k] for k in kinds])[0]
    if event == "move":
        return ClipSpec(event, thing, direction=rng.choice(DIRECTIONS), dim=dim, transcript=transcript)
    if event == "change":
        return ClipSpec(event, thing, new_colour=colours[1], dim=dim, transcript=transcript)
    if event == "collide":
        return ClipSpec(event, thing, other=Thing(rng.choice(SHAPES), colours[1]), dim=dim, transcript=transcript)
    return ClipSpec(event, thing, dim=dim, transcript=transcript)


def clip_spec(tag: str, index: int, seed: int, held_out: bool,
              config: SyntheticCaptionConfig = SyntheticCaptionConfig()) -> ClipSpec:
    """Clip ``index`` of the set named ``tag``: events in turn, the rest drawn until the clip
    shows a held-out combination (``held_out``) or none."""
    rng = random.Random(f"spec:{seed}:{tag}:{index}")
    event = EVENTS[index % len(EVENTS)]
    while True:
        spec = draw_spec(event, rng, config)
        if is_held_out(spec) == held_out:
            return spec


# ---------------------------------------------------------------------------------------------
# Words


def _with_article(thing: Thing) -> str:
    return f"{'an' if thing.colour[0] in 'aeiou' else 'a'} {thing.colour} {thing.shape}"


def _fill(template: str, spec: ClipSpec, rng: random.Random) -> str:
    other = spec.other or spec.thing
    return template.format(
        A=_with_article(spec.thing), B=_with_article(other), THE_A=f"the {spec.thing.colour} {spec.thing.shape}",
        THE_B=f"the {other.colour} {other.shape}", S=spec.thing.shape, S2=other.shape, C=spec.thing.colour,
        C2=spec.new_colour or other.colour, D=rng.choice(DIRECTION_WORDS[spec.direction]) if spec.direction else "",
    )


def captions(spec: ClipSpec, rng: random.Random, count: int) -> list[str]:
    """``count`` distinct captions from different templates."""
    return [_fill(template, spec, rng) for template in rng.sample(CAPTION_TEMPLATES[spec.event], count)]


def transcript(spec: ClipSpec, timeline: dict[str, float], rng: random.Random,
               config: SyntheticCaptionConfig) -> list[dict]:
    """The narrator's words with their timing: one sentence ending just after the event starts,
    sometimes a short remark after it."""
    text = _fill(rng.choice(TRANSCRIPT_TEMPLATES[spec.transcript][spec.event]), spec, rng)
    length = len(text.split()) / WORDS_PER_SECOND
    end = min(timeline["start"] + rng.uniform(0.1, 0.4), config.seconds)
    start = max(0.0, end - length)
    segments = [{"start": round(start, 2), "end": round(end, 2), "text": text}]
    after = timeline["end"] + rng.uniform(0.1, 0.3)
    if rng.random() < 0.5 and after + 0.6 <= config.seconds:
        segments.append({"start": round(after, 2), "end": round(after + 0.6, 2), "text": rng.choice(AFTERWORDS)})
    return segments


# ---------------------------------------------------------------------------------------------
# Frames


def _shape_mask(shape: str, cx: float, cy: float, r: float, size: int) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    dx, dy = x - cx, y - cy
    if shape == "circle":
        return dx**2 + dy**2 <= r**2
    if shape == "square":
        return (np.abs(dx) <= 0.85 * r) & (np.abs(dy) <= 0.85 * r)
    if shape == "diamond":
        return np.abs(dx) + np.abs(dy) <= 1.15 * r
    # triangle, apex up: the half-width grows from 0 at the apex to r at the base
    return (dy >= -r) & (dy <= 0.75 * r) & (np.abs(dx) <= (dy + r) / 1.75)


def _timeline(spec: ClipSpec, rng: random.Random, config: SyntheticCaptionConfig) -> dict[str, float]:
    """When the event starts and ends, in seconds."""
    start = rng.uniform(0.7, 1.3)
    if spec.event == "appear":
        return {"start": start, "end": start + 0.3}
    if spec.event == "change":
        return {"start": start, "end": start + 0.5}
    return {"start": start, "end": min(start + rng.uniform(1.6, 2.1), config.seconds - 0.3)}


def render_frames(spec: ClipSpec, timeline: dict[str, float], rng: np.random.Generator,
                  config: SyntheticCaptionConfig) -> np.ndarray:
    """(N, size, size, 3) uint8 frames of the clip."""
    n, size = round(config.seconds * config.fps), config.size
    light = 0.4 if spec.dim else 1.0
    background = rng.uniform(70, 120) + rng.uniform(-12, 12, size=3)
    radius = rng.uniform(0.13, 0.16) * size
    lo, hi = 0.22 * size, 0.78 * size  # where shapes start and stop
    lane = rng.uniform(0.35, 0.65) * size  # the row (or column) a moving shape keeps to
    home = rng.uniform(0.3, 0.7, size=2) * size  # where a still shape sits
    start, end = timeline["start"], timeline["end"]
    frames = np.empty((n, size, size, 3), dtype=np.float32)
    for i in range(n):
        t = i / config.fps
        progress = float(np.clip((t - start) / (end - start), 0.0, 1.0))
        frame = np.broadcast_to(background, (size, size, 3)).copy()
        shapes = []  # (thing, centre x, centre y, colour, scale)
        if spec.event == "move":
            along = lo + (hi - lo) * (progress if spec.direction in ("right", "down") else 1.0 - progress)
            x, y = (along, lane) if spec.direction in ("left", "right") else (lane, along)
            shapes.append((spec.thing, x, y, COLOURS[spec.thing.colour], 1.0))
        elif spec.event == "change":
            mix = np.array(COLOURS[spec.thing.colour]) * (1 - progress) + np.array(COLOURS[spec.new_colour]) * progress
            shapes.append((spec.thing, *home, mix, 1.0))
        elif spec.event == "appear":
            if t >= start:
                shapes.append((spec.thing, *home, COLOURS[spec.thing.colour], 0.4 + 0.6 * progress))
        else:  # collide: the two meet in the middle, then rest touching
            gap = radius * 1.9
            x = lo + (size / 2 - gap / 2 - lo) * progress
            shapes.append((spec.thing, x, lane, COLOURS[spec.thing.colour], 1.0))
            shapes.append((spec.other, size - x, lane, COLOURS[spec.other.colour], 1.0))
        for thing, x, y, colour, scale in shapes:
            colour = np.asarray(colour, dtype=np.float32)
            if spec.dim:  # washed out towards grey as well as darker
                colour = 0.5 * colour + 0.5 * colour.mean()
            frame[_shape_mask(thing.shape, x, y, radius * scale, size)] = colour
        frames[i] = frame * light
    frames += rng.normal(0.0, 6.0 if spec.dim else 3.0, size=frames.shape)
    return np.clip(frames, 0, 255).astype(np.uint8)


def write_mp4(path: Path, frames: np.ndarray, fps: int) -> None:
    """H.264 (yuv420p) MP4; x264 single-threaded and bitexact, so the bytes are reproducible."""
    height, width = frames.shape[1:3]
    command = [
        ffmpeg_exe(), "-y", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-threads", "1", "-pix_fmt", "yuv420p",
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-movflags", "+faststart", str(path),
    ]  # fmt: skip
    process = subprocess.run(command, input=frames.tobytes(), capture_output=True, check=False)
    if process.returncode != 0:
        raise RuntimeError(f"ffmpeg failed for {path.name}: {process.stderr.decode(errors='replace')[-2000:]}")


# ---------------------------------------------------------------------------------------------
# Writing datasets


@dataclass(frozen=True)
class Clip:
    video_id: str
    split: str  # "train", "val" or "example"
    spec: ClipSpec
    captions: list[str]
    transcript: list[dict]
    timeline: dict[str, float]
    seed: tuple[int, ...]  # of the frames' generator


def make_clip(video_id: str, tag: str, index: int, seed: int, config: SyntheticCaptionConfig) -> Clip:
    """Everything about clip ``index`` of the set ``tag`` ("train", "val" = held out, "example")
    but its frames, from its own generators."""
    spec = clip_spec(tag, index, seed, tag == "val", config)
    rng = random.Random(f"words:{seed}:{tag}:{index}")
    timeline = _timeline(spec, rng, config)
    return Clip(video_id, tag, spec, captions(spec, rng, config.captions_per_clip),
                transcript(spec, timeline, rng, config), timeline, (seed, zlib.crc32(tag.encode()), index))


def _write_videos(video_dir: Path, clips: list[Clip], config: SyntheticCaptionConfig,
                  progress: Callable[[int], object] | None) -> None:
    video_dir.mkdir(parents=True, exist_ok=True)

    def write(clip: Clip) -> None:
        frames = render_frames(clip.spec, clip.timeline, np.random.default_rng(clip.seed), config)
        write_mp4(video_dir / f"{clip.video_id}.mp4", frames, config.fps)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for _ in pool.map(write, clips):  # ffmpeg runs outside the GIL
            if progress:
                progress(1)


def _video_entry(clip: Clip, config: SyntheticCaptionConfig) -> dict:
    return {"video_id": clip.video_id, "split": clip.split, "start time": 0.0, "end time": config.seconds,
            "content": asdict(clip.spec),
            "held_out": sorted(" ".join(c) for c in combinations(clip.spec) & HELD_OUT)}


def generate(out_dir: str | Path, train: int = 800, val: int = 200, seed: int = 0,
             config: SyntheticCaptionConfig = SyntheticCaptionConfig(),
             progress: Callable[[int], object] | None = None) -> list[Clip]:
    """Write the train and val splits (videos, annotations, transcripts, README); returns the clips."""
    out_dir = Path(out_dir)
    clips = [make_clip(f"{split}{index:05d}", split, index, seed, config)
             for split, count in (("train", train), ("val", val)) for index in range(count)]
    _write_videos(out_dir / "videos", clips, config, progress)
    sentences = [(clip.video_id, text) for clip in clips for text in clip.captions]
    annotations = {
        "info": {"generator": "training.data.synthetic_captions", "seed": seed, "config": asdict(config),
                 "held_out": sorted(" ".join(c) for c in HELD_OUT)},
        "videos": [_video_entry(clip, config) for clip in clips],
        "sentences": [{"video_id": video_id, "caption": text, "sen_id": i} for i, (video_id, text) in enumerate(sentences)],
    }
    _write_json(out_dir / "annotations.json", annotations)
    _write_json(out_dir / "transcripts.json", {clip.video_id: clip.transcript for clip in clips})
    (out_dir / "README.txt").write_text(
        "Synthetic captioned clips with transcripts (training.data.synthetic_captions).\n"
        "annotations.json: MSRVTT layout (mmdemo.data.caption_annotations.read_msrvtt).\n"
        "transcripts.json: {video_id: [{start, end, text}]} in seconds.\n"
        "The val split holds only clips showing a combination that train never shows.\n\n"
        + json.dumps({**annotations["info"], "clips": {"train": train, "val": val}}, indent=1) + "\n",
        encoding="utf-8",
    )
    return clips


def generate_examples(out_dir: str | Path, count: int, seed: int = 0,
                      config: SyntheticCaptionConfig = SyntheticCaptionConfig()) -> list[Path]:
    """A few descriptively named clips (``00-red-circle-move-left.mp4``) and ``examples.json``
    ([{file, captions, transcript}]): example inputs for the app, without held-out combinations
    (like the training clips, but not the same ones)."""
    out_dir = Path(out_dir)
    clips = [make_clip(f"{index:02d}", "example", index, seed, config) for index in range(count)]
    clips = [replace(clip, video_id=f"{clip.video_id}-{clip.spec.slug}") for clip in clips]
    _write_videos(out_dir, clips, config, None)
    _write_json(out_dir / "examples.json", [{"file": f"{clip.video_id}.mp4", "captions": clip.captions,
                                             "transcript": clip.transcript} for clip in clips])
    return [out_dir / f"{clip.video_id}.mp4" for clip in clips]


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.data.synthetic_captions",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--train", type=int, default=800, help="clips in the train split")
    parser.add_argument("--val", type=int, default=200, help="clips in the val split (held-out combinations)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, metavar="N",
                        help="instead, write N descriptively named example clips and examples.json into --out")
    args = parser.parse_args(argv)
    if args.examples:
        generate_examples(args.out, args.examples, args.seed)
        return
    with tqdm(total=args.train + args.val, unit="clip", file=sys.stderr) as bar:
        generate(args.out, args.train, args.val, args.seed, progress=bar.update)


if __name__ == "__main__":
    main()
