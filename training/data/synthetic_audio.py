"""Synthetic audio clips with captions that describe them, written in the Clotho layout.

Language-based audio retrieval (paper section 2.4) needs recordings whose captions pick them
out. Each clip here is one or two sound sources (a tone, a warble, rising or falling sweeps,
white/pink/brown noise, clicks, beeps, a bell, a buzz) with pitch and tempo attributes, alone,
layered ("beeps over brown noise") or in sequence ("clicks followed by a bell"), under a
loudness envelope. Five captions from varied templates name all of it, and each caption gets
one to three rephrasings for the caption-swap augmentation (paper 2.4.4).

The validation split holds only pairs of sources that never sound together in development
(``HELD_OUT_PAIRS``), while every source and attribute on its own does: it measures whether a
model composes what it learned rather than recalling combinations.

    python -m training.data.synthetic_audio --out data/synthetic_audio [--train 1200] [--val 150]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import wave
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mmdemo.data.clotho import captions_csv_path, variants_csv_path


@dataclass(frozen=True)
class SyntheticAudioConfig:
    # Paper 2.5: a 1024-point FFT of 32 ms and a hop of 320 = 10 ms, i.e. 32 kHz audio.
    sample_rate: int = 32_000
    seconds: float = 4.0
    # Paper 2.4.1: five captions per Clotho recording, 8-20 words; six words is the shortest
    # that still names a source and its envelope.
    captions_per_clip: int = 5
    min_words: int = 6
    max_words: int = 20
    # Paper 2.4.4 has five rephrasings per caption; one to three keep the variants file small.
    max_variants: int = 3


ARRANGEMENTS = ("single", "layered", "sequence")
ENVELOPES = ("steady", "fade in", "fade out", "swell")
PITCH_BANDS_HZ = {"low": (110.0, 220.0), "medium": (400.0, 800.0), "high": (1500.0, 3000.0)}
BACKGROUND_DB = (-11.0, -7.0)  # a layered clip's second source sits this far under the first
ENVELOPE_DEPTH_DB = 30.0  # quietest point of a fade or swell, relative to its loudest
NOISE_FLOOR_DB = (-50.0, -40.0)  # light background hiss under every clip
PEAK = (0.5, 0.9)  # final peak amplitude, drawn per clip

PITCH_WORDS = {
    "low": ("low", "deep", "low-pitched", "bass"),
    "medium": ("medium", "medium-pitched", "mid-pitched", "mid-range"),
    "high": ("high", "shrill", "high-pitched", "piercing"),
}
TEMPO_WORDS = {"slow": ("slow", "leisurely", "unhurried"), "fast": ("fast", "rapid", "quick")}
TEMPO_ADVERBS = {"slow": ("slowly", "at a slow pace", "at a leisurely rate"), "fast": ("quickly", "rapidly", "at a fast pace")}
ENVELOPE_PHRASES = {
    "steady": ("at a constant volume", "at a steady level", "at an even loudness", "with unchanging volume"),
    "fade in": ("fading in", "gradually fading in", "growing louder", "getting gradually louder"),
    "fade out": ("fading out", "gradually fading away", "getting quieter", "dying away"),
    "swell": (
        "swelling and then fading", "getting louder and then softer", "growing stronger then weaker", "swelling then dying down",
    ),
}
# {A} is the (first or foreground) source, {B} the second one, {E} the envelope phrase.
CLIP_TEMPLATES = {
    "single": ("the sound of {A} {E}", "there is {A} {E}", "a recording of {A} {E}", "you can hear {A} {E}", "{A} is playing {E}"),
    "layered": (
        "{A} over {B}, {E}", "{A} on top of {B}, {E}", "{A} layered over {B}, {E}",
        "{A} with {B} in the background, {E}", "{B} in the background under {A}, {E}",
    ),
    "sequence": (
        "{A} followed by {B}, {E}", "first {A}, then {B}, {E}", "{A} and then {B}, {E}",
        "{A} that gives way to {B}, {E}", "{B} comes after {A}, {E}",
    ),
}


@dataclass(frozen=True)
class Sound:
    """One source with its attributes; ``pitch``/``tempo`` are None where they do not apply."""

    source: str
    pitch: str | None = None
    tempo: str | None = None

    @property
    def slug(self) -> str:
        return "-".join(part for part in (self.tempo, self.pitch, self.source.replace(" ", "-")) if part)


@dataclass(frozen=True)
class ClipSpec:
    """What a clip contains: everything its captions say. What varies between renderings of the
    same content (exact pitch, gains, onsets, noise) is drawn when it is rendered."""

    sounds: tuple[Sound, ...]  # one for "single", two otherwise (foreground or first, then the other)
    arrangement: str
    envelope: str

    @property
    def source_pair(self) -> frozenset[str]:
        return frozenset(sound.source for sound in self.sounds)

    @property
    def slug(self) -> str:
        joiner = {"single": "", "layered": "-over-", "sequence": "-then-"}[self.arrangement]
        return joiner.join(sound.slug for sound in self.sounds)


# ---------------------------------------------------------------------------------------------
# Sources: how each one sounds. Every renderer gets sample times, the sound, its rate in Hz for
# tempo-bearing sources, and a generator; it returns an unscaled waveform of the same length.


def _pitch_hz(sound: Sound, rng: np.random.Generator) -> float:
    low, high = PITCH_BANDS_HZ[sound.pitch]
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _sine(cycles: np.ndarray) -> np.ndarray:
    """sin(2 pi cycles) in float32: the float64 phase is wrapped first, so no precision is lost
    and the sine runs several times faster than in float64."""
    return np.sin((2 * np.pi * (cycles - np.floor(cycles))).astype(np.float32))


def _tone(t: np.ndarray, sound: Sound, rate: float, rng: np.random.Generator) -> np.ndarray:
    cycles = _pitch_hz(sound, rng) * t + rng.uniform()
    return _sine(cycles) + 0.15 * _sine(2 * cycles)


def _warble(t: np.ndarray, sound: Sound, rate: float, rng: np.random.Generator) -> np.ndarray:
    f0, depth = _pitch_hz(sound, rng), 0.06  # vibrato: the frequency swings +-6 % at `rate`
    swing = np.cos((2 * np.pi * rate * t).astype(np.float32)) * (depth / (2 * np.pi * rate))
    return _sine(f0 * (t - swing))


def _sweep(octaves: float) -> Callable[[np.ndarray, Sound, float, np.random.Generator], np.ndarray]:
    """An exponential sweep over the whole segment, ``octaves`` wide and centred on the pitch."""

    def render(t: np.ndarray, sound: Sound, rate: float, rng: np.random.Generator) -> np.ndarray:
        f0, length = _pitch_hz(sound, rng), max(float(t[-1]), 1e-3)
        start, log_ratio = f0 * 2.0 ** (-octaves / 2), octaves * np.log(2.0)
        growth = np.exp((log_ratio / length * t).astype(np.float32)).astype(np.float64)
        return _sine(start * length / log_ratio * (growth - 1.0))

    return render


def _noise(exponent: float) -> Callable[[np.ndarray, Sound, float, np.random.Generator], np.ndarray]:
    """Noise whose amplitude spectrum falls as f**-exponent: white 0, pink 0.5, brown 1."""

    def render(t: np.ndarray, sound: Sound, rate: float, rng: np.random.Generator) -> np.ndarray:
        white = rng.standard_normal(len(t))
        if exponent:
            frequencies = np.fft.rfftfreq(len(t), d=float(t[1] - t[0]))
            white = np.fft.irfft(np.fft.rfft(white) * np.maximum(frequencies, 20.0) ** -exponent, n=len(t))
        return white.astype(np.float32)

    return render


def _onsets(t: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Event times every 1/rate seconds, each but the first (at the start) moved by up to 5 % of a period."""
    times = np.arange(0.0, float(t[-1]) + 1e-9, 1.0 / rate)
    return np.clip(times + rng.uniform(-0.05, 0.05, len(times)) / rate * (times > 0), 0.0, None)


def _clicks(t: np.ndarray, sound: Sound, rate: float, rng: np.random.Generator) -> np.ndarray:
    sample_rate = 1.0 / float(t[1] - t[0])
    width = int(0.003 * sample_rate)  # each click: 3 ms of noise decaying with a 0.6 ms time constant
    kernel = rng.standard_normal(width) * np.exp(-np.arange(width) / (0.0006 * sample_rate))
    starts = (_onsets(t, rate, rng) * sample_rate).astype(int)
    starts = starts[starts + width <= len(t)]
    out = np.zeros(len(t), dtype=np.float32)
    out[starts[:, None] + np.arange(width)[None, :]] += kernel
    return out


def _beeps(t: np.ndarray, sound: Sound, rate: float, rng: np.random.Generator) -> np.ndarray:
    periods = t * rate
    position = periods - np.floor(periods)  # fraction of the current on/off period; on in the first half
    ramp = 0.005 * rate  # 5 ms edges, in period fractions
    gate = np.clip(np.minimum(position, 0.5 - position) / ramp, 0.0, 1.0).astype(np.float32)
    return gate * _sine(_pitch_hz(sound, rng) * t)


def _bell(t: np.ndarray, sound: Sound, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Inharmonic partials decaying from each strike; partials above 0.45 x the sample rate are left out."""
    strikes = _onsets(t, rate, rng)
    since = t - strikes[np.searchsorted(strikes, t, side="right") - 1]  # time since the last strike
    since32, nyquist = since.astype(np.float32), 0.45 / float(t[1] - t[0])
    f0, out = _pitch_hz(sound, rng), np.zeros(len(t), dtype=np.float32)
    for ratio, amplitude, decay in ((1.0, 1.0, 1.2), (2.0, 0.6, 0.8), (2.76, 0.45, 0.5), (4.07, 0.3, 0.35), (5.4, 0.2, 0.25)):
        if f0 * ratio < nyquist:
            out += amplitude * np.exp(since32 / -decay) * _sine(f0 * ratio * since)
    return out


def _buzz(t: np.ndarray, sound: Sound, rate: float, rng: np.random.Generator) -> np.ndarray:
    cycles = _pitch_hz(sound, rng) * t + rng.uniform()
    return (2.0 * (cycles - np.floor(cycles)) - 1.0).astype(np.float32)  # sawtooth


@dataclass(frozen=True)
class Source:
    """A sound source: its caption noun phrases ({p} pitch, {t} tempo, {ta} tempo adverb),
    whether it has a pitch, its slow/fast event rates in Hz (None: no tempo), its renderer."""

    phrases: tuple[str, ...]
    pitched: bool
    rates_hz: tuple[float, float] | None
    render: Callable[[np.ndarray, Sound, float, np.random.Generator], np.ndarray]


SOURCES: dict[str, Source] = {
    "tone": Source(
        ("a {p} pure tone", "a {p} sine tone", "a {p} sustained tone", "a {p} electronic tone"), True, None, _tone
    ),
    "warble": Source(
        ("a {p} sound warbling {ta}", "a {p} warble with {t} vibrato", "a {p} whistle wavering {ta}", "a {p} note with a {t} vibrato"),
        True, (2.5, 9.0), _warble,
    ),
    "rising sweep": Source(
        ("a {p} rising sweep", "a {p} upward glide", "a {p} ascending sweep", "a {p} siren rising in pitch"), True, None, _sweep(2.0)
    ),
    "falling sweep": Source(
        ("a {p} falling sweep", "a {p} downward glide", "a {p} descending sweep", "a {p} siren dropping in pitch"),
        True, None, _sweep(-2.0),
    ),
    "white noise": Source(("white noise", "a hiss", "a hissing static", "bright static"), False, None, _noise(0.0)),
    "pink noise": Source(("pink noise", "a rushing noise", "a soft rushing sound", "a waterfall-like rush"), False, None, _noise(0.5)),
    "brown noise": Source(("brown noise", "a rumbling noise", "a muffled rumble", "a dull roar"), False, None, _noise(1.0)),
    "clicks": Source(
        ("{t} clicks", "a {t} click track", "{t} ticking", "a {t} series of clicks", "clicks repeating {ta}"),
        False, (2.5, 10.0), _clicks,
    ),
    "beeps": Source(
        ("{t} {p} beeps", "a {p} beep repeating {ta}", "a {t} run of {p} beeps", "{p} beeps sounding {ta}"), True, (1.5, 5.0), _beeps
    ),
    "bell": Source(
        ("a {p} bell struck {ta}", "a {p} bell ringing {ta}", "{t} strikes of a {p} bell", "a {p} chime struck {ta}"),
        True, (0.7, 3.0), _bell,
    ),
    "buzz": Source(("a {p} buzz", "a {p} buzzing sound", "a harsh {p} buzz", "a {p} electric buzzing"), True, None, _buzz),
}
NOISES = frozenset({"white noise", "pink noise", "brown noise"})  # two noises together are not told apart

# The held-out rule: these source pairs are never combined (layered or in sequence) in the
# development split, and the validation split contains nothing else. Each source is in exactly
# two of them (source i with source i+3 in SOURCES order), so every source keeps at least six
# development partners and still appears alone.
HELD_OUT_PAIRS: frozenset[frozenset[str]] = frozenset(
    frozenset(pair)
    for pair in (
        ("tone", "falling sweep"), ("warble", "white noise"), ("rising sweep", "pink noise"),
        ("falling sweep", "brown noise"), ("white noise", "clicks"), ("pink noise", "beeps"),
        ("brown noise", "bell"), ("clicks", "buzz"), ("beeps", "tone"), ("bell", "warble"),
        ("buzz", "rising sweep"),
    )
)


def all_sounds() -> list[Sound]:
    """Every source with every pitch and tempo that applies to it (35 sounds)."""
    sounds = []
    for name, source in SOURCES.items():
        for pitch in PITCH_WORDS if source.pitched else (None,):
            for tempo in TEMPO_WORDS if source.rates_hz else (None,):
                sounds.append(Sound(name, pitch, tempo))
    return sounds


def all_specs() -> list[ClipSpec]:
    """The whole combination space: single sounds, and ordered pairs of different sources
    (no noise with noise) layered or in sequence, each under every envelope."""
    sounds = all_sounds()
    specs = [ClipSpec((sound,), "single", envelope) for sound in sounds for envelope in ENVELOPES]
    for first in sounds:
        for second in sounds:
            if first.source == second.source or {first.source, second.source} <= NOISES:
                continue
            specs += [ClipSpec((first, second), arrangement, envelope) for arrangement in ARRANGEMENTS[1:] for envelope in ENVELOPES]
    return specs


def is_held_out(spec: ClipSpec) -> bool:
    return len(spec.sounds) == 2 and spec.source_pair in HELD_OUT_PAIRS


def sample_specs(split: str, count: int, seed: int) -> list[ClipSpec]:
    """``count`` clip contents for a split, balanced over (arrangement, sources) and without
    repeats until a group is used up. "validation" draws only held-out pairs, "development"
    everything else, any other split name (a demo collection) the whole space."""
    if split == "validation":
        pool = [spec for spec in all_specs() if is_held_out(spec)]
    elif split == "development":
        pool = [spec for spec in all_specs() if not is_held_out(spec)]
    else:
        pool = all_specs()
    groups: dict[tuple, list[ClipSpec]] = defaultdict(list)
    for spec in pool:
        groups[(spec.arrangement, tuple(sorted(spec.source_pair)))].append(spec)
    rng = random.Random(f"specs:{seed}:{split}")
    keys, order, queues, specs = sorted(groups), [], {}, []
    while len(specs) < count:
        if not order:
            order = rng.sample(keys, len(keys))
        key = order.pop()
        if not queues.get(key):
            queues[key] = rng.sample(groups[key], len(groups[key]))
        specs.append(queues[key].pop())
    return specs


def count_collisions(specs: list[ClipSpec]) -> int:
    """Pairs of clips with identical content, which no caption could tell apart."""
    return sum(n * (n - 1) // 2 for n in Counter(specs).values())


# ---------------------------------------------------------------------------------------------
# Captions


def describe_sound(sound: Sound, rng: random.Random) -> str:
    source = SOURCES[sound.source]
    phrase = rng.choice(source.phrases)
    return phrase.format(
        p=rng.choice(PITCH_WORDS[sound.pitch]) if sound.pitch else "",
        t=rng.choice(TEMPO_WORDS[sound.tempo]) if sound.tempo else "",
        ta=rng.choice(TEMPO_ADVERBS[sound.tempo]) if sound.tempo else "",
    )


def describe_clip(spec: ClipSpec, rng: random.Random, config: SyntheticAudioConfig = SyntheticAudioConfig()) -> str:
    """One caption naming every source, attribute, the arrangement and the envelope."""
    while True:  # resample the few combinations of long phrases that exceed max_words
        text = rng.choice(CLIP_TEMPLATES[spec.arrangement]).format(
            A=describe_sound(spec.sounds[0], rng),
            B=describe_sound(spec.sounds[-1], rng),
            E=rng.choice(ENVELOPE_PHRASES[spec.envelope]),
        )
        text = re.sub(r"\ba (?=[aeiou])", "an ", text)
        if config.min_words <= len(text.split()) <= config.max_words:
            return text[0].upper() + text[1:] + "."


def captions_and_variants(
    spec: ClipSpec, rng: random.Random, config: SyntheticAudioConfig = SyntheticAudioConfig()
) -> tuple[list[str], dict[str, list[str]]]:
    """Distinct captions for a clip and, for each, one to ``max_variants`` distinct rephrasings."""
    seen: set[str] = set()

    def fresh() -> str:
        text = describe_clip(spec, rng, config)
        while text in seen:
            text = describe_clip(spec, rng, config)
        seen.add(text)
        return text

    captions = [fresh() for _ in range(config.captions_per_clip)]
    return captions, {caption: [fresh() for _ in range(rng.randint(1, config.max_variants))] for caption in captions}


# ---------------------------------------------------------------------------------------------
# Audio


def _render_sound(sound: Sound, length: int, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """One source, scaled to a common loudness (RMS 0.25, peaks at most 1), with 10 ms edges."""
    source = SOURCES[sound.source]
    rate = 0.0
    if source.rates_hz:
        slow, fast = source.rates_hz
        rate = (fast if sound.tempo == "fast" else slow) * rng.uniform(0.85, 1.15)
    signal = source.render(np.arange(length) / sample_rate, sound, rate, rng)
    signal *= np.float32(min(0.25 / (np.sqrt(np.mean(signal**2)) + 1e-12), 1.0 / (np.abs(signal).max() + 1e-12)))
    edge = min(int(0.01 * sample_rate), length // 2)
    signal[:edge] *= np.linspace(0.0, 1.0, edge, dtype=np.float32)
    signal[length - edge:] *= np.linspace(1.0, 0.0, edge, dtype=np.float32)
    return signal


def _envelope(kind: str, length: int, rng: np.random.Generator) -> np.ndarray:
    x = np.linspace(0.0, 1.0, length, dtype=np.float32)
    if kind == "steady":
        return np.ones(length, dtype=np.float32)
    if kind == "fade in":
        level = x - 1.0
    elif kind == "fade out":
        level = -x
    else:  # swell: loudest somewhere in the middle
        peak = rng.uniform(0.4, 0.6)
        level = -np.abs(x - peak) / max(peak, 1.0 - peak)
    return np.exp(level * np.float32(ENVELOPE_DEPTH_DB / 20.0 * np.log(10.0)))


def render_clip(spec: ClipSpec, rng: np.random.Generator, config: SyntheticAudioConfig = SyntheticAudioConfig()) -> np.ndarray:
    """A float32 waveform in [-1, 1] with random onsets, gains and a light noise floor."""
    sr, length = config.sample_rate, round(config.seconds * config.sample_rate)
    onset = int(rng.uniform(0.0, 0.05 * config.seconds) * sr)
    if spec.arrangement == "single":
        parts = [(spec.sounds[0], onset, length, 1.0)]
    elif spec.arrangement == "layered":
        background = 10 ** (rng.uniform(*BACKGROUND_DB) / 20)
        parts = [(spec.sounds[0], onset, length, 1.0), (spec.sounds[1], 0, length, background)]
    else:
        middle = int(rng.uniform(0.45, 0.55) * length)
        gap = int(rng.uniform(0.0, 0.03 * config.seconds) * sr)
        parts = [(spec.sounds[0], onset, middle, 1.0), (spec.sounds[1], middle + gap, length, 1.0)]
    mix = np.zeros(length, dtype=np.float32)
    for sound, start, stop, gain in parts:
        mix[start:stop] += gain * _render_sound(sound, stop - start, rng, sr)
    mix *= _envelope(spec.envelope, length, rng)
    mix /= np.float32(np.abs(mix).max() + 1e-12)
    mix += rng.standard_normal(length, dtype=np.float32) * np.float32(10 ** (rng.uniform(*NOISE_FLOOR_DB) / 20))
    mix *= np.float32(rng.uniform(*PEAK) / np.abs(mix).max())
    return mix


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int) -> None:
    """16-bit mono PCM through the standard library, so generation needs nothing but numpy."""
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())


# ---------------------------------------------------------------------------------------------
# Writing datasets


def _write_clips(
    audio_dir: Path, names: list[str], specs: list[ClipSpec], tag: str, seed: int, config: SyntheticAudioConfig,
    progress: Callable[[int], object] | None,
) -> tuple[list[list[str]], list[list[str]]]:
    """Render and write each clip; returns caption rows and variant rows for the CSVs.

    Each clip draws from its own generators seeded by (seed, tag, index), so clip i is the same
    file whatever the split's size."""
    audio_dir.mkdir(parents=True, exist_ok=True)
    caption_rows, variant_rows = [], []
    for index, (name, spec) in enumerate(zip(names, specs)):
        captions, variants = captions_and_variants(spec, random.Random(f"captions:{seed}:{tag}:{index}"), config)
        audio = render_clip(spec, np.random.default_rng([seed, zlib.crc32(tag.encode()), index]), config)
        write_wav(audio_dir / name, audio, config.sample_rate)
        caption_rows.append([name, *captions])
        variant_rows += [[name, caption, variant] for caption in captions for variant in variants[caption]]
        if progress:
            progress(1)
    return caption_rows, variant_rows


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _caption_header(config: SyntheticAudioConfig) -> list[str]:
    return ["file_name", *(f"caption_{i + 1}" for i in range(config.captions_per_clip))]


def write_split(
    root: str | Path, split: str, count: int, seed: int, config: SyntheticAudioConfig = SyntheticAudioConfig(),
    progress: Callable[[int], object] | None = None,
) -> list[ClipSpec]:
    """Write one Clotho split (audio, captions CSV, variants CSV); returns the clips' contents."""
    root = Path(root)
    specs = sample_specs(split, count, seed)
    names = [f"{split}_{index:05d}.wav" for index in range(count)]
    caption_rows, variant_rows = _write_clips(root / split, names, specs, split, seed, config, progress)
    _write_csv(captions_csv_path(root, split), _caption_header(config), caption_rows)
    _write_csv(variants_csv_path(root, split), ["file_name", "caption", "variant"], variant_rows)
    return specs


def generate_clotho(
    out_dir: str | Path, train: int = 1200, val: int = 150, seed: int = 0, config: SyntheticAudioConfig = SyntheticAudioConfig(),
    progress: Callable[[int], object] | None = None,
) -> dict[str, list[ClipSpec]]:
    """The "development" (train) and "validation" (unseen combinations) splits plus a README."""
    out_dir = Path(out_dir)
    splits = {
        "development": write_split(out_dir, "development", train, seed, config, progress),
        "validation": write_split(out_dir, "validation", val, seed, config, progress),
    }
    settings = {
        "generator": "training.data.synthetic_audio",
        "seed": seed,
        "clips": {split: len(specs) for split, specs in splits.items()},
        "config": asdict(config),
        "held_out_pairs": sorted(" + ".join(sorted(pair)) for pair in HELD_OUT_PAIRS),
        "validation_collisions": count_collisions(splits["validation"]),
    }
    (out_dir / "README.txt").write_text(
        "Synthetic audio-caption data in the Clotho v2 layout (read with mmdemo.data.clotho.read_clotho).\n"
        "The validation split holds only source pairs that never occur together in development.\n\n"
        + json.dumps(settings, indent=1) + "\n",
        encoding="utf-8",
    )
    return splits


def generate_collection(
    out_dir: str | Path, count: int, seed: int = 0, config: SyntheticAudioConfig = SyntheticAudioConfig(),
    progress: Callable[[int], object] | None = None,
) -> list[Path]:
    """A flat folder of descriptively named clips (``fast-high-beeps-over-brown-noise-03.wav``)
    and ``captions.csv`` in the Clotho format: a demo collection to search."""
    out_dir = Path(out_dir)
    specs = sample_specs("collection", count, seed)
    width = max(2, len(str(count - 1)))
    names = [f"{spec.slug}-{index:0{width}d}.wav" for index, spec in enumerate(specs)]
    caption_rows, _ = _write_clips(out_dir, names, specs, "collection", seed, config, progress)
    _write_csv(out_dir / "captions.csv", _caption_header(config), caption_rows)
    return [out_dir / name for name in names]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write synthetic audio-caption data in the Clotho v2 layout.")
    parser.add_argument("--out", required=True)
    parser.add_argument("--train", type=int, default=1200, help="clips in the development split")
    parser.add_argument("--val", type=int, default=150, help="clips in the validation split (unseen source pairs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=SyntheticAudioConfig.seconds)
    parser.add_argument("--collection", type=int, metavar="N", help="instead, write N named clips and captions.csv flat into --out")
    args = parser.parse_args(argv)
    config = SyntheticAudioConfig(seconds=args.seconds)
    total = args.collection if args.collection is not None else args.train + args.val
    with tqdm(total=total, unit="clip") as bar:
        if args.collection is not None:
            generate_collection(args.out, args.collection, args.seed, config, bar.update)
        else:
            generate_clotho(args.out, args.train, args.val, args.seed, config, bar.update)


if __name__ == "__main__":
    main()
