from __future__ import annotations

import json
import random
import re
import wave
from pathlib import Path

import numpy as np
import pytest

from mmdemo.data.clotho import read_captions_csv, read_clotho
from mmdemo.models.audio_text import normalize_caption
from training.data.synthetic_audio import (
    ENVELOPES,
    HELD_OUT_PAIRS,
    NOISES,
    SOURCES,
    ClipSpec,
    Sound,
    SyntheticAudioConfig,
    all_sounds,
    captions_and_variants,
    count_collisions,
    generate_clotho,
    generate_collection,
    is_held_out,
    main,
    render_clip,
    sample_specs,
)

SMALL = SyntheticAudioConfig(seconds=0.5)
SR = SMALL.sample_rate

# An oracle independent of the generator's phrase tables: words that can only come from one value.
SOURCE_WORDS = {
    "tone": ["tone"], "warble": ["warbl", "waver", "vibrato"], "rising sweep": ["rising", "upward", "ascending"],
    "falling sweep": ["falling", "downward", "descending", "dropping"], "white noise": ["white", "hiss", "static"],
    "pink noise": ["pink", "rush"], "brown noise": ["brown", "rumbl", "roar"], "clicks": ["click", "tick"],
    "beeps": ["beep"], "bell": ["bell", "chime"], "buzz": ["buzz"],
}
PITCH_WORDS = {"low": ["low", "deep", "bass"], "medium": ["medium", "mid"], "high": ["high", "shrill", "piercing"]}
TEMPO_WORDS = {"slow": ["slow", "leisurely", "unhurried"], "fast": ["fast", "rapid", "quick"]}
ENVELOPE_WORDS = {
    "steady": ["constant", "steady", "even", "unchanging"], "fade in": ["fading in", "growing louder", "gradually louder"],
    "fade out": ["fading out", "fading away", "quieter", "dying away"], "swell": ["swell", "softer", "weaker"],
}


def _mentioned(text: str, table: dict[str, list[str]]) -> set[str]:
    words = normalize_caption(text)
    return {value for value, markers in table.items() if any(re.search(rf"\b{marker}", words) for marker in markers)}


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as handle:
        assert (handle.getnchannels(), handle.getsampwidth(), handle.getframerate()) == (1, 2, SR)
        return np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2") / 32768.0


def _render(
    source: str, pitch: str | None = None, tempo: str | None = None, envelope: str = "steady", seconds: float = 1.0
) -> np.ndarray:
    """One source alone, as float64 for the measurements."""
    spec = ClipSpec((Sound(source, pitch, tempo),), "single", envelope)
    return render_clip(spec, np.random.default_rng(0), SyntheticAudioConfig(seconds=seconds)).astype(np.float64)


def _centroid(x: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(x)) ** 2
    return float((np.fft.rfftfreq(len(x), 1 / SR) * power).sum() / power.sum())


def _bursts(x: np.ndarray, frame: float = 0.005) -> int:
    """Separate loud events: rising edges of the frame energy across a tenth of its maximum."""
    frames = x[: len(x) // int(frame * SR) * int(frame * SR)].reshape(-1, int(frame * SR))
    on = np.sqrt((frames**2).mean(axis=1)) > 0.1 * np.sqrt((frames**2).mean(axis=1)).max()
    return int(on[0] + np.sum(on[1:] & ~on[:-1]))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic_audio")
    return root, generate_clotho(root, train=8, val=5, seed=3, config=SMALL)


def test_same_seed_gives_byte_identical_files(dataset, tmp_path):
    root, _ = dataset
    generate_clotho(tmp_path / "again", train=8, val=5, seed=3, config=SMALL)
    generate_clotho(tmp_path / "other", train=8, val=5, seed=4, config=SMALL)
    files = sorted(path.relative_to(root) for path in root.rglob("*") if path.is_file())
    assert len(files) == 8 + 5 + 4 + 1
    assert all((root / name).read_bytes() == (tmp_path / "again" / name).read_bytes() for name in files)
    assert sum((root / name).read_bytes() != (tmp_path / "other" / name).read_bytes() for name in files) >= 15


def test_writes_the_clotho_layout_that_read_clotho_reads(dataset):
    root, specs = dataset
    for split, count in (("development", 8), ("validation", 5)):
        items = read_clotho(root, split)
        assert [item.clip_id for item in items] == [f"{split}_{index:05d}" for index in range(count)]
        for item, spec in zip(items, specs[split]):
            assert len(set(item.captions)) == 5
            assert set(item.variants) == set(item.captions)
            assert all(1 <= len(texts) <= 3 for texts in item.variants.values())
            assert not set(item.captions) & {text for texts in item.variants.values() for text in texts}
            assert len(_read_wav(item.audio_path)) == round(0.5 * SR)
            assert _mentioned(" ".join(item.captions), SOURCE_WORDS) == spec.source_pair
    assert json.loads((root / "README.txt").read_text().split("\n\n", 1)[1])["clips"] == {"development": 8, "validation": 5}


def test_held_out_pairs_leave_every_source_combinable():
    assert len(HELD_OUT_PAIRS) == 11
    assert all(len(pair) == 2 and not pair <= NOISES for pair in HELD_OUT_PAIRS)
    for name in SOURCES:
        partners = {other for other in SOURCES if other != name and not {name, other} <= NOISES}
        held = {other for pair in HELD_OUT_PAIRS if name in pair for other in pair - {name}}
        assert len(held) == 2 and len(partners - held) >= 6


def test_validation_holds_only_unseen_pairs_of_parts_seen_in_development():
    development, validation = sample_specs("development", 1200, 0), sample_specs("validation", 150, 0)
    assert all(is_held_out(spec) for spec in validation) and not any(is_held_out(spec) for spec in development)
    assert not {spec.source_pair for spec in validation} & {spec.source_pair for spec in development if len(spec.sounds) == 2}
    assert {spec.source_pair for spec in validation} == HELD_OUT_PAIRS  # balanced: every held-out pair is used
    seen = {sound for spec in development for sound in spec.sounds}
    assert seen == set(all_sounds())
    assert {spec.sounds[0].source for spec in development if spec.arrangement == "single"} == set(SOURCES)
    assert {spec.envelope for spec in development} == set(ENVELOPES)
    assert {spec.arrangement for spec in validation} == {"layered", "sequence"}


def test_validation_clips_have_distinct_contents():
    a, b = ClipSpec((Sound("buzz", "low"),), "single", "steady"), ClipSpec((Sound("buzz", "high"),), "single", "steady")
    assert count_collisions([a, a, a, b, b, ClipSpec(b.sounds, "single", "swell")]) == 3 + 1
    assert count_collisions(sample_specs("validation", 150, 0)) <= 2
    assert count_collisions(sample_specs("validation", 150, 1)) <= 2


def test_captions_name_exactly_what_is_in_the_clip():
    specs = sample_specs("validation", 150, 0) + sample_specs("development", 250, 0)
    for index, spec in enumerate(specs):
        captions, variants = captions_and_variants(spec, random.Random(index))
        texts = captions + [text for options in variants.values() for text in options]
        assert len(set(texts)) == len(texts)
        for text in texts:
            assert 6 <= len(text.split()) <= 20, text
            assert _mentioned(text, SOURCE_WORDS) == spec.source_pair, text
            assert _mentioned(text, PITCH_WORDS) == {s.pitch for s in spec.sounds if s.pitch}, text
            assert _mentioned(text, TEMPO_WORDS) == {s.tempo for s in spec.sounds if s.tempo}, text
            assert _mentioned(text, ENVELOPE_WORDS) == {spec.envelope}, text
            if spec.arrangement == "layered":
                assert re.search(r"\b(over|on top of|background)\b", text), text
            elif spec.arrangement == "sequence":
                assert re.search(r"\b(followed by|then|gives way|comes after)\b", text), text


@pytest.mark.parametrize("source", [name for name, source in SOURCES.items() if source.pitched])
def test_pitch_moves_the_spectral_centroid(source):
    tempo = "slow" if SOURCES[source].rates_hz else None
    low, high = _centroid(_render(source, "low", tempo)), _centroid(_render(source, "high", tempo))
    assert high > 3 * low, (low, high)


def test_sources_have_their_own_signatures():
    white, pink, brown = (_centroid(_render(name)) for name in ("white noise", "pink noise", "brown noise"))
    assert white > 2 * pink > 4 * brown
    flatness = {}
    for name, pitch in (("white noise", None), ("tone", "medium")):
        power = np.abs(np.fft.rfft(_render(name, pitch))) ** 2 + 1e-20
        flatness[name] = np.exp(np.mean(np.log(power))) / np.mean(power)
    assert flatness["white noise"] > 0.3 and flatness["tone"] < 0.01
    rising, falling = _render("rising sweep", "medium"), _render("falling sweep", "medium")
    assert _centroid(rising[SR // 2:]) > 1.5 * _centroid(rising[: SR // 2])
    assert _centroid(falling[: SR // 2]) > 1.5 * _centroid(falling[SR // 2:])
    for source, pitch in (("clicks", None), ("beeps", "medium")):
        slow, fast = _bursts(_render(source, pitch, "slow", seconds=2.0)), _bursts(_render(source, pitch, "fast", seconds=2.0))
        assert fast > 2.5 * slow >= 5, (source, slow, fast)


@pytest.mark.parametrize("envelope", ENVELOPES)
def test_envelope_shapes_loudness(envelope):
    quarters = [np.sqrt(np.mean(part**2)) for part in np.array_split(_render("pink noise", envelope=envelope), 4)]
    first, middle, last = quarters[0], max(quarters[1:3]), quarters[3]
    if envelope == "steady":
        assert max(quarters) < 1.3 * min(quarters)
    elif envelope == "fade in":
        assert last > 5 * first
    elif envelope == "fade out":
        assert first > 5 * last
    else:
        assert middle > 2 * first and middle > 2 * last


def test_layered_second_source_is_audible_but_quieter():
    spec = ClipSpec((Sound("tone", "high"), Sound("tone", "low")), "layered", "steady")  # one spectrum, two bands
    power = np.abs(np.fft.rfft(render_clip(spec, np.random.default_rng(0)))) ** 2
    frequencies = np.fft.rfftfreq(round(SyntheticAudioConfig().seconds * SR), 1 / SR)
    foreground, background = power[frequencies > 1000].sum(), power[(frequencies > 100) & (frequencies < 300)].sum()
    assert 2 < foreground / background < 20


def test_no_clip_is_near_silent(dataset):
    root, _ = dataset
    for path in sorted(root.rglob("*.wav")):
        audio = _read_wav(path)
        loudest = max(np.sqrt(np.mean(part**2)) for part in np.array_split(audio, 5))
        assert 0.45 < np.abs(audio).max() <= 0.9 and loudest > 0.03, path.name


def test_collection_is_descriptively_named_and_readable(tmp_path):
    paths = generate_collection(tmp_path, 12, seed=1, config=SyntheticAudioConfig(seconds=0.25))
    assert len({path.name for path in paths}) == 12
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*-\d{2}\.wav", path.name) for path in paths)
    items = read_captions_csv(tmp_path / "captions.csv", tmp_path)
    assert [item.audio_path for item in items] == paths
    assert {len(item.captions) for item in items} == {5}


def test_cli_writes_both_splits_and_its_settings(tmp_path):
    main(["--out", str(tmp_path), "--train", "3", "--val", "2", "--seed", "5", "--seconds", "0.25"])
    assert len(read_clotho(tmp_path, "development")) == 3 and len(read_clotho(tmp_path, "validation")) == 2
    settings = json.loads((tmp_path / "README.txt").read_text().split("\n\n", 1)[1])
    assert settings["seed"] == 5 and settings["config"]["seconds"] == 0.25 and len(settings["held_out_pairs"]) == 11
