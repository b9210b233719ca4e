import wave
from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest

from mmdemo.data.tau import TAU_CLASSES, read_tau
from mmdemo.media.audio import load_audio
from mmdemo.media.video import probe, read_frames
from training.data.synthetic_scenes import (
    CLASSES,
    SCENES,
    SynthConfig,
    generate,
    main,
    render_clip,
)

SHORT = replace(SynthConfig(), seconds=1.0)
INDEX = {scene.name: i for i, scene in enumerate(SCENES)}


def clips(name: str, count: int = 8, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    return [render_clip(INDEX[name], i, seed, SHORT) for i in range(count)]


def image_stats(frames: np.ndarray) -> np.ndarray:
    """Colour of the top and bottom thirds and the texture energy along y and x."""
    x = frames.astype(np.float32) / 255
    third = x.shape[1] // 3
    return np.concatenate([x[:, :third].mean((0, 1, 2)), x[:, -third:].mean((0, 1, 2)),
                           np.abs(np.diff(x, axis=1)).mean((0, 1, 2)), np.abs(np.diff(x, axis=2)).mean((0, 1, 2))])


def audio_stats(audio: np.ndarray) -> np.ndarray:
    """Mean and spread of 16 log band energies, relative to the clip's level (gain-free)."""
    frames = audio[: len(audio) // 2048 * 2048].reshape(-1, 2048)
    power = np.abs(np.fft.rfft(frames * np.hanning(2048), axis=1)) ** 2
    freqs = np.fft.rfftfreq(2048, 1 / 48000)
    edges = np.geomspace(40, 20000, 17)
    bands = np.log(np.stack([power[:, (freqs >= lo) & (freqs < hi)].sum(1) for lo, hi in pairwise(edges)], 1) + 1e-12)
    bands -= bands.mean()
    return np.concatenate([bands.mean(0), bands.std(0)])


def separation(a: np.ndarray, b: np.ndarray) -> float:
    """Distance of the two classes' mean statistics over their pooled spread: ~0.5 for one
    distribution sampled twice (8 clips each), several for distributions that differ."""
    return float(np.linalg.norm(a.mean(0) - b.mean(0)) / np.sqrt(a.var(0).sum() + b.var(0).sum()))


def stats(name: str) -> tuple[np.ndarray, np.ndarray]:
    made = clips(name)
    return np.stack([image_stats(f) for f, _ in made]), np.stack([audio_stats(a) for _, a in made])


def test_classes_are_tau_scene_labels_in_reader_order():
    assert set(CLASSES) <= set(TAU_CLASSES)
    assert list(CLASSES) == sorted(CLASSES)  # the TAU reader indexes the sorted labels


def test_rendering_is_deterministic_and_seeded():
    frames, audio = render_clip(3, 1, 0, SHORT)
    assert frames.shape == (6, 96, 128, 3) and frames.dtype == np.uint8
    assert audio.shape == (48000,) and audio.dtype == np.float32 and np.abs(audio).max() <= 1
    again = render_clip(3, 1, 0, SHORT)
    assert np.array_equal(frames, again[0]) and np.array_equal(audio, again[1])
    other = render_clip(3, 1, 1, SHORT)
    assert not np.array_equal(frames, other[0]) and not np.array_equal(audio, other[1])


def test_dark_classes_are_nearly_black():
    for scene in SCENES:
        brightness = np.mean([frames.mean() / 255 for frames, _ in clips(scene.name, count=3)])
        if scene.look == "dark":
            assert brightness < 0.06, scene.name
        else:
            assert brightness > 0.3, scene.name


@pytest.mark.parametrize(
    "first, second, same",
    [
        ("street_traffic", "street_pedestrian", "image"),  # told apart only by sound
        ("metro", "tram", "image"),  # in the dark: only by sound
        ("shopping_mall", "airport", "audio"),  # only by image
        ("street_pedestrian", "public_square", "audio"),
        ("metro_station", "metro", "audio"),
        ("park", "bus", None),  # both senses differ
    ],
)
def test_designed_cues(first, second, same):
    (image_a, audio_a), (image_b, audio_b) = stats(first), stats(second)
    image_sep, audio_sep = separation(image_a, image_b), separation(audio_a, audio_b)
    assert (image_sep < 1.0) == (same == "image"), image_sep
    assert (audio_sep < 1.0) == (same == "audio"), audio_sep
    assert max(image_sep, audio_sep) > 1.5  # learnable from the other sense


def test_writes_a_tau_layout_the_reader_reads_reproducibly(tmp_path):
    main(["--out", str(tmp_path / "a"), "--clips-per-class", "2", "--seconds", "1", "--seed", "5"])
    counts = generate(tmp_path / "b", clips_per_class=2, seed=5, config=SHORT, workers=1)
    assert counts == {"train": 10, "evaluate": 10}
    train, held_out = read_tau(tmp_path / "a", "train"), read_tau(tmp_path / "a", "evaluate")
    assert train.classes == CLASSES
    assert {item.label for item in held_out.items} == set(CLASSES)
    assert not {item.clip_id for item in train.items} & {item.clip_id for item in held_out.items}
    for item in train.items + held_out.items:  # same bytes whatever the worker count
        for path in (item.audio, item.video):
            assert path.read_bytes() == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes(), path.name

    item = held_out.items[INDEX["tram"]]
    assert item.label == "tram" and item.label_index == INDEX["tram"]
    with wave.open(str(item.audio)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getnframes()) == (48000, 1, 48000)
    info = probe(item.video)
    assert info.has_video and info.has_audio and (info.width, info.height, info.fps) == (128, 96, 6.0)
    assert (info.video_codec, info.audio_codec, info.audio_rate) == ("h264", "aac", 48000)
    frames, _ = read_frames(item.video, fps=6)
    assert len(frames) == 6 and frames.mean() / 255 < 0.06  # a dark class
    assert abs(len(load_audio(item.video, 48000)) - 48000) < 2048


def test_needs_a_clip_to_hold_out(tmp_path):
    with pytest.raises(ValueError, match="at least 2"):
        generate(tmp_path, clips_per_class=1, config=SHORT)
