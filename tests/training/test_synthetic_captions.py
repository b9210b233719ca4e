from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mmdemo.data.caption_annotations import read_msrvtt, read_transcripts
from mmdemo.media.video import read_frames
from training.data.synthetic_captions import (
    ACTIONS,
    COLOURS,
    EVENTS,
    HELD_OUT,
    SHAPES,
    ClipSpec,
    SyntheticCaptionConfig,
    Thing,
    clip_spec,
    combinations,
    generate,
    generate_examples,
    main,
    render_frames,
)

CONFIG = SyntheticCaptionConfig()
# An oracle independent of the generator's phrase tables: words that can only come from one direction.
DIRECTION_WORDS = {"left": "left", "right": "right", "up": r"\bup|top", "down": "down|bottom"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("synthetic_captions")
    return out, generate(out, train=6, val=3, seed=5)


def test_the_same_seed_writes_the_same_bytes_whatever_the_split_sizes(dataset, tmp_path):
    out, _ = dataset
    main(["--out", str(tmp_path / "small"), "--train", "2", "--val", "1", "--seed", "5"])
    for name in ("train00000", "train00001", "val00000"):
        assert (tmp_path / "small" / "videos" / f"{name}.mp4").read_bytes() == (out / "videos" / f"{name}.mp4").read_bytes()
    small = json.loads((tmp_path / "small" / "transcripts.json").read_text())
    full = json.loads((out / "transcripts.json").read_text())
    assert small == {k: full[k] for k in small}
    generate(tmp_path / "other", train=2, val=0, seed=6)
    other = json.loads((tmp_path / "other" / "annotations.json").read_text())["sentences"]
    assert other != json.loads((tmp_path / "small" / "annotations.json").read_text())["sentences"][: len(other)]


def test_val_shows_only_combinations_train_never_shows():
    train = [clip_spec("train", i, 0, held_out=False) for i in range(300)]
    val = [clip_spec("val", i, 0, held_out=True) for i in range(150)]
    seen = set().union(*map(combinations, train))
    assert not seen & HELD_OUT
    assert all(combinations(spec) & HELD_OUT for spec in val)
    assert set().union(*map(combinations, val)) >= HELD_OUT  # every held-out combination is tested
    # ... while each colour, shape and action on its own is trained
    assert {c[1] for c in seen if c[0] == "colour"} == set(COLOURS)
    assert {c[1] for c in seen} >= set(SHAPES) and {c[2] for c in seen if c[0] == "action"} == set(ACTIONS)
    assert set(Counter(spec.event for spec in train).values()) == {300 // len(EVENTS)}  # events take turns


def test_annotations_are_msrvtt_and_captions_name_what_happens(dataset):
    out, clips = dataset
    read = read_msrvtt(out / "annotations.json")
    assert [(c.video_id, c.split) for c in read] == [(c.video_id, c.split) for c in clips]
    assert [c.split for c in read] == ["train"] * 6 + ["val"] * 3
    content = {v["video_id"]: v["content"] for v in json.loads((out / "annotations.json").read_text())["videos"]}
    for clip in read:
        assert clip.end == CONFIG.seconds and len(set(clip.captions)) == CONFIG.captions_per_clip
        spec = content[clip.video_id]
        for caption in clip.captions:
            assert spec["thing"]["colour"] in caption and spec["thing"]["shape"] in caption, caption
            if spec["event"] == "collide":
                assert spec["other"]["colour"] in caption and spec["other"]["shape"] in caption, caption
            if spec["event"] == "change":
                assert spec["new_colour"] in caption, caption
            if spec["event"] == "move":
                assert re.search(DIRECTION_WORDS[spec["direction"]], caption), caption
            assert not re.search(r"\ba [aeiou]", caption), caption  # "an orange", never "a orange"


def test_every_clip_has_a_timed_transcript_that_helps_when_colours_are_hard_to_see(dataset):
    out, clips = dataset
    segments = json.loads((out / "transcripts.json").read_text())
    texts = read_transcripts(out / "transcripts.json")
    assert set(segments) == set(texts) == {clip.video_id for clip in clips}
    for clip in clips:
        assert all(0 <= s["start"] < s["end"] <= CONFIG.seconds and s["text"].strip() for s in segments[clip.video_id])
        assert texts[clip.video_id].startswith(segments[clip.video_id][0]["text"])
    # over many clips: in dim light the narrator always names the colour
    specs = [clip_spec("train", i, 1, held_out=False) for i in range(200)]
    dim = [spec for spec in specs if spec.dim]
    assert 30 < len(dim) < 80 and {spec.transcript for spec in dim} == {"full", "colour"}


def test_clips_decode_to_the_rendered_frames(dataset):
    out, clips = dataset
    clip = clips[0]
    frames, _ = read_frames(out / "videos" / f"{clip.video_id}.mp4", fps=CONFIG.fps)
    assert frames.shape == (round(CONFIG.seconds * CONFIG.fps), CONFIG.size, CONFIG.size, 3)
    rendered = render_frames(clip.spec, clip.timeline, np.random.default_rng(clip.seed), CONFIG)
    assert np.abs(frames.astype(float) - rendered).mean() < 4.0  # H.264 at crf 18: close to what was drawn


@pytest.mark.parametrize("direction", ["left", "right", "up", "down"])
def test_a_moving_shape_goes_where_the_caption_says(direction):
    spec = ClipSpec("move", Thing("circle", "red"), direction=direction)
    frames = render_frames(spec, {"start": 1.0, "end": 3.0}, np.random.default_rng(0), CONFIG).astype(float)

    def centre(frame: np.ndarray) -> np.ndarray:
        red = (frame[..., 0] > 150) & (frame[..., 1] < 100)
        return np.argwhere(red).mean(axis=0)  # (row, column)

    shift = centre(frames[-1]) - centre(frames[0])
    axis, sign = {"left": (1, -1), "right": (1, 1), "up": (0, -1), "down": (0, 1)}[direction]
    assert sign * shift[axis] > 0.4 * CONFIG.size and abs(shift[1 - axis]) < 2


def test_examples_are_named_after_what_they_show(tmp_path):
    paths = generate_examples(tmp_path, count=4, seed=0)
    listed = json.loads((tmp_path / "examples.json").read_text())
    assert [p.name for p in paths] == [e["file"] for e in listed] and all(p.is_file() for p in paths)
    for path, entry in zip(paths, listed):
        colour, shape, event = path.stem.split("-")[1:4]
        assert event in EVENTS and all(colour in c and shape in c for c in entry["captions"])
        assert entry["transcript"] and len(read_frames(path, fps=2)[0]) == 8
