"""Synthetic audio-visual scenes whose classes need both senses, in the TAU 2021 layout.

Each scene class pairs one *look* (how its frames are drawn) with one *sound* (how its audio
is synthesised). Looks and sounds are shared between classes on purpose, so that neither
modality alone can tell every class apart, the situation section 2.4 of the paper
(Okazaki et al.) builds its ensemble for:

- street_traffic / street_pedestrian share the street look: told apart only by sound;
- public_square / street_pedestrian share the voices, shopping_mall / airport the hall sound,
  metro_station / metro the rails: told apart only by image;
- metro / tram are filmed in the dark (frames nearly black): only sound tells them apart;
- park and bus have their own look and sound.

A single model of either kind therefore stays well below 100 %, and a fusion that knows which
modality to trust per class can reach it. Every clip is drawn from its own seeded generator, so
the same command writes the same files::

    python -m training.data.synthetic_scenes --out DIR [--clips-per-class 20] [--seconds 10] [--seed 0]

writes ``DIR/audio/*.wav`` (48 kHz mono), ``DIR/video/*.mp4`` (H.264 + AAC, both streams) and
``DIR/evaluation_setup/fold1_{train,evaluate}.csv``, the last clips of each class held out.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from mmdemo.media.ffmpeg import ffmpeg_exe


@dataclass(frozen=True)
class SynthConfig:
    seconds: float = 10.0  # TAU clips are 10 s
    width: int = 128
    height: int = 96
    fps: int = 6
    sample_rate: int = 48000  # TAU audio and section 2.1 are 48 kHz


@dataclass(frozen=True)
class Look:
    """Frames: sky/ceiling and ground/floor colours, a drifting stripe texture, one moving object."""

    top: tuple[int, int, int]
    bottom: tuple[int, int, int]
    stripe_angle: float  # degrees; 0 = horizontal stripes
    stripe_period: float  # pixels
    stripe_contrast: float  # amplitude, in 0-255 units
    thing: tuple[int, int, int]  # colour of the moving object
    thing_speed: float  # pixels per second
    brightness: float = 1.0


LOOKS = {
    "park": Look((150, 200, 235), (70, 140, 60), 90, 18, 25, (200, 60, 60), 20),
    "street": Look((170, 180, 190), (90, 90, 95), 0, 12, 40, (220, 200, 40), 60),
    "square": Look((160, 190, 225), (190, 170, 130), 45, 10, 30, (60, 60, 140), 15),
    "mall": Look((240, 220, 180), (200, 150, 90), 90, 24, 25, (180, 40, 120), 25),
    "terminal": Look((225, 235, 245), (120, 140, 170), 90, 40, 25, (250, 250, 250), 35),
    "station": Look((200, 215, 205), (110, 120, 110), 0, 6, 45, (200, 120, 30), 80),
    "bus": Look((120, 130, 160), (150, 40, 40), 90, 14, 40, (230, 230, 200), 10),
    "dark": Look((30, 30, 45), (20, 20, 25), 0, 20, 10, (60, 60, 50), 40, brightness=0.3),
}


@dataclass(frozen=True)
class Scene:
    name: str  # a TAU scene label
    look: str  # key of LOOKS
    sound: str  # key of SOUNDS


SCENES = (
    Scene("airport", "terminal", "hall"),
    Scene("bus", "bus", "engine"),
    Scene("metro", "dark", "rails"),
    Scene("metro_station", "station", "rails"),
    Scene("park", "park", "birds"),
    Scene("public_square", "square", "voices"),
    Scene("shopping_mall", "mall", "hall"),
    Scene("street_pedestrian", "street", "voices"),
    Scene("street_traffic", "street", "traffic"),
    Scene("tram", "dark", "tram"),
)
CLASSES = tuple(scene.name for scene in SCENES)  # sorted, as the TAU reader indexes them


# ----------------------------------------------------------------------------------------------
# Frames


def render_frames(look: Look, rng: np.random.Generator, config: SynthConfig) -> np.ndarray:
    """(T, H, W, 3) uint8 frames; colours, horizon, texture phase and object path vary per clip."""
    t = np.arange(round(config.seconds * config.fps)) / config.fps
    h, w = config.height, config.width
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    horizon = rng.uniform(0.35, 0.55) * h
    ground = 1.0 / (1.0 + np.exp(-(y - horizon) / 2.0))  # soft edge between top and bottom
    top = np.array(look.top) + rng.normal(0, 6, 3)
    bottom = np.array(look.bottom) + rng.normal(0, 6, 3)
    background = ((1 - ground)[..., None] * top + ground[..., None] * bottom).astype(np.float32)  # (H, W, 3)
    angle = np.deg2rad(look.stripe_angle)
    along = y * np.cos(angle) + x * np.sin(angle)
    phase = (rng.uniform(0, 2 * np.pi) + rng.uniform(0.5, 1.5) * t).astype(np.float32)  # the texture drifts
    stripes = look.stripe_contrast * np.sin(2 * np.pi * along / look.stripe_period + phase[:, None, None])
    frames = background[None] + stripes[..., None]  # (T, H, W, 3)
    size_y, size_x = round(0.2 * h), round(0.15 * w)
    row = int(np.clip(horizon - size_y / 2 + rng.normal(0, 4), 0, h - size_y))
    direction = rng.choice([-1.0, 1.0])
    left = (rng.uniform(0, w) + direction * look.thing_speed * t) % (w + size_x) - size_x  # wraps around
    inside = (x[None, :1, :] >= left[:, None, None]) & (x[None, :1, :] < left[:, None, None] + size_x)  # (T, 1, W)
    inside = inside & ((y[:, :1] >= row) & (y[:, :1] < row + size_y))[None]  # (T, H, W)
    frames = np.where(inside[..., None], np.array(look.thing, dtype=np.float32), frames)
    frames = frames * look.brightness * rng.uniform(0.9, 1.1)
    frames += 3.0 * rng.standard_normal(frames.shape[:3], dtype=np.float32)[..., None]  # grey sensor noise
    return np.clip(frames, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------------------------
# Sounds: each a function (rng, t, sample_rate) -> waveform, all at similar loudness


def band_noise(rng: np.random.Generator, n: int, sample_rate: int, low: float, high: float) -> np.ndarray:
    """Unit-RMS noise with its energy only between ``low`` and ``high`` Hz."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    spectrum[(freqs < low) | (freqs > high)] = 0
    noise = np.fft.irfft(spectrum, n)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


def harmonics(phase: np.ndarray, count: int) -> np.ndarray:
    """sum_k sin(k * phase) / k for k = 1..count: a buzzy tone (float32, phase wrapped first, for speed)."""
    wrapped = np.mod(phase, 2 * np.pi).astype(np.float32)
    return sum(np.sin(k * wrapped) / k for k in range(1, count + 1))


def events(rng: np.random.Generator, rate: float, seconds: float) -> np.ndarray:
    """Start times of a Poisson process of ``rate`` events per second."""
    return np.sort(rng.uniform(0, seconds, rng.poisson(rate * seconds)))


def add_at(signal: np.ndarray, start: float, burst: np.ndarray, sample_rate: int) -> None:
    """Mix ``burst`` into ``signal`` from ``start`` seconds, cut at the end."""
    i = round(start * sample_rate)
    part = burst[: max(0, len(signal) - i)]
    signal[i : i + len(part)] += part


def birds(rng: np.random.Generator, t: np.ndarray, sr: int) -> np.ndarray:
    """Short chirps sweeping between 1.5 and 7 kHz, over soft wind."""
    out = 0.01 * band_noise(rng, len(t), sr, 200, 1500)
    for start in events(rng, 3.5, t[-1]):
        tau = np.arange(round(rng.uniform(0.05, 0.12) * sr)) / sr
        f0, sweep = rng.uniform(3000, 5500), rng.uniform(-1500, 1500) / tau[-1]
        chirp = np.sin(2 * np.pi * (f0 * tau + 0.5 * sweep * tau**2)) * np.sin(np.pi * tau / tau[-1]) ** 2
        add_at(out, start, rng.uniform(0.05, 0.12) * chirp, sr)
    return out


def traffic(rng: np.random.Generator, t: np.ndarray, sr: int) -> np.ndarray:
    """Low rumble that swells as cars pass, with their engine tones."""
    passing = np.full_like(t, 0.5)
    for start in events(rng, 0.6, t[-1]):
        passing += rng.uniform(0.5, 1.5) * np.exp(-0.5 * ((t - start) / rng.uniform(0.8, 2.0)) ** 2)
    engine = harmonics(2 * np.pi * rng.uniform(60, 120) * t + rng.uniform(0, 2 * np.pi), 4)
    return passing * (0.05 * band_noise(rng, len(t), sr, 30, 400) + 0.015 * engine)


def voices(rng: np.random.Generator, t: np.ndarray, sr: int) -> np.ndarray:
    """Babble: a few voices, each a gliding harmonic tone gated into syllables."""
    out = 0.008 * band_noise(rng, len(t), sr, 300, 3400)
    for _ in range(3):
        f0 = rng.uniform(100, 250) * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(0.2, 0.8) * t))
        tone = harmonics(2 * np.pi * np.cumsum(f0) / sr, 5)
        syllables = np.sin(np.pi * rng.uniform(3, 5) * t + rng.uniform(0, np.pi)) ** 2
        out += 0.025 * tone * syllables
    return out


def hall(rng: np.random.Generator, t: np.ndarray, sr: int) -> np.ndarray:
    """A large hall: diffuse mid-band crowd noise, soft background music, an occasional chime."""
    out = 0.04 * band_noise(rng, len(t), sr, 250, 2500)
    root = rng.uniform(220, 330)
    tremolo = 1 + 0.3 * np.sin(2 * np.pi * 0.5 * t)
    out += 0.012 * tremolo * sum(np.sin(2 * np.pi * root * ratio * t) for ratio in (1.0, 1.25, 1.5))
    tau = np.arange(round(0.8 * sr)) / sr
    chime = (np.sin(2 * np.pi * 660 * tau) + np.sin(2 * np.pi * 550 * tau)) * np.exp(-4 * tau)
    for start in events(rng, 0.1, t[-1]):
        add_at(out, start, 0.05 * chime, sr)
    return out


def rails(rng: np.random.Generator, t: np.ndarray, sr: int) -> np.ndarray:
    """Rail joints (click-clack pairs at a steady pace) over a low rumble, with a faint squeal."""
    out = 0.04 * band_noise(rng, len(t), sr, 40, 250)
    click_tau = np.arange(round(0.03 * sr)) / sr
    period = rng.uniform(0.55, 0.8)
    for start in np.arange(rng.uniform(0, period), t[-1], period):
        for offset in (0.0, 0.12):
            add_at(out, start + offset, 0.15 * rng.standard_normal(len(click_tau)) * np.exp(-click_tau / 0.01), sr)
    squeal = np.sin(2 * np.pi * rng.uniform(2500, 3500) * t) * np.sin(np.pi * t / t[-1]) ** 2
    return out + 0.01 * squeal


def tram(rng: np.random.Generator, t: np.ndarray, sr: int) -> np.ndarray:
    """An electric motor whining up in pitch, a bell now and then, a low rumble."""
    out = 0.03 * band_noise(rng, len(t), sr, 40, 250)
    f = rng.uniform(300, 500) + rng.uniform(300, 500) * t / t[-1]
    phase = 2 * np.pi * np.cumsum(f) / sr
    out += 0.03 * (np.sin(phase) + 0.5 * np.sin(2 * phase))
    tau = np.arange(round(1.0 * sr)) / sr
    pitch = rng.uniform(900, 1300)
    bell = (np.sin(2 * np.pi * pitch * tau) + 0.6 * np.sin(2 * np.pi * 2.76 * pitch * tau)) * np.exp(-tau / 0.4)
    for start in events(rng, 0.4, t[-1]):
        add_at(out, start, 0.1 * bell, sr)
    return out


def engine(rng: np.random.Generator, t: np.ndarray, sr: int) -> np.ndarray:
    """A diesel idling and pulling away (low harmonic drone), the occasional door hiss."""
    f0 = rng.uniform(25, 40) * (1 + 0.3 * np.clip(t - rng.uniform(2, 6), 0, None) / t[-1])
    out = 0.025 * harmonics(2 * np.pi * np.cumsum(f0) / sr, 10)
    out += 0.02 * band_noise(rng, len(t), sr, 100, 800)
    for start in events(rng, 0.1, t[-1]):
        hiss = band_noise(rng, round(0.4 * sr), sr, 2000, 8000) * np.hanning(round(0.4 * sr))
        add_at(out, start, 0.05 * hiss, sr)
    return out


SOUNDS = {"birds": birds, "traffic": traffic, "voices": voices, "hall": hall, "rails": rails, "tram": tram, "engine": engine}


def render_audio(sound: str, rng: np.random.Generator, config: SynthConfig) -> np.ndarray:
    """(samples,) float32 mono: the scene's sound over faint pink noise, at a random gain (+-6 dB)."""
    n = round(config.seconds * config.sample_rate)
    t = np.arange(n) / config.sample_rate
    signal = SOUNDS[sound](rng, t, config.sample_rate)
    spectrum = np.fft.rfft(rng.standard_normal(n)) / np.sqrt(np.maximum(np.fft.rfftfreq(n, 1 / config.sample_rate), 20.0))
    pink = np.fft.irfft(spectrum, n)
    signal = signal + rng.uniform(0.003, 0.01) * pink / (np.sqrt(np.mean(pink**2)) + 1e-12)
    gain = 10 ** (rng.uniform(-6, 6) / 20)
    return np.clip(gain * signal, -1, 1).astype(np.float32)


def render_clip(class_index: int, clip_index: int, seed: int, config: SynthConfig = SynthConfig()) -> tuple[np.ndarray, np.ndarray]:
    """(frames (T, H, W, 3) uint8, audio (samples,) float32) of one clip.

    Frames and audio draw from separate generators keyed by (seed, class, clip), so a clip does
    not depend on which others are made, and classes sharing a look share its distribution exactly.
    """
    scene = SCENES[class_index]
    frames = render_frames(LOOKS[scene.look], np.random.default_rng([seed, class_index, clip_index, 0]), config)
    audio = render_audio(scene.sound, np.random.default_rng([seed, class_index, clip_index, 1]), config)
    return frames, audio


# ----------------------------------------------------------------------------------------------
# Files


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())


def write_mp4(path: Path, frames: np.ndarray, wav_path: Path, config: SynthConfig) -> None:
    """H.264 video + AAC audio (from the wav) in one MP4; single-threaded and bitexact, so reproducible."""
    command = [
        ffmpeg_exe(), "-y", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{config.width}x{config.height}", "-r", str(config.fps), "-i", "-",
        "-i", str(wav_path), "-map", "0:v", "-map", "1:a",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-threads", "1", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "96k", "-ar", str(config.sample_rate),
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
        "-movflags", "+faststart", str(path),
    ]  # fmt: skip
    process = subprocess.run(command, input=frames.tobytes(), capture_output=True, check=False)
    if process.returncode != 0:
        raise RuntimeError(f"ffmpeg failed for {path.name}: {process.stderr.decode(errors='replace')[-2000:]}")


def clip_name(class_index: int, clip_index: int, seed: int) -> str:
    """TAU-style ``scene-city-location-segment-device`` file stem."""
    return f"{SCENES[class_index].name}-synthetic-{clip_index}-{seed}-a"


def write_clip(out_dir: Path, class_index: int, clip_index: int, seed: int, config: SynthConfig) -> str:
    """Render one clip into ``audio/<name>.wav`` and ``video/<name>.mp4``; returns its CSV row."""
    frames, audio = render_clip(class_index, clip_index, seed, config)
    name = clip_name(class_index, clip_index, seed)
    wav_path = out_dir / "audio" / f"{name}.wav"
    write_wav(wav_path, audio, config.sample_rate)
    write_mp4(out_dir / "video" / f"{name}.mp4", frames, wav_path, config)
    return f"audio/{name}.wav\tvideo/{name}.mp4\t{SCENES[class_index].name}"


def generate(
    out_dir: str | Path, clips_per_class: int = 20, seed: int = 0, held_out_fraction: float = 0.25,
    config: SynthConfig = SynthConfig(), workers: int = 2, progress: bool = False,
) -> dict[str, int]:
    """Write the dataset in the TAU layout; returns the clip count of each split.

    The last ``round(clips_per_class * held_out_fraction)`` clips of each class (at least one,
    at most all but one) go to ``fold1_evaluate.csv``, the others to ``fold1_train.csv``.
    ``workers`` clips are made at once (numpy and ffmpeg run outside Python's lock); the
    files do not depend on it.
    """
    if clips_per_class < 2:
        raise ValueError(f"clips_per_class must be at least 2 (one to train on, one held out); got {clips_per_class}")
    from tqdm import tqdm

    out_dir = Path(out_dir)
    for folder in ("audio", "video", "evaluation_setup"):
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
    held_out = min(max(round(clips_per_class * held_out_fraction), 1), clips_per_class - 1)
    jobs = [(c, i) for c in range(len(SCENES)) for i in range(clips_per_class)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        made = pool.map(lambda job: write_clip(out_dir, job[0], job[1], seed, config), jobs)
        lines = list(tqdm(made, total=len(jobs), desc="synthetic scenes", unit="clip", file=sys.stderr, disable=not progress))
    rows: dict[str, list[str]] = {"train": [], "evaluate": []}
    for (_, clip_index), line in zip(jobs, lines):
        rows["evaluate" if clip_index >= clips_per_class - held_out else "train"].append(line)
    for split, split_lines in rows.items():
        text = "filename_audio\tfilename_video\tscene_label\n" + "".join(line + "\n" for line in split_lines)
        (out_dir / "evaluation_setup" / f"fold1_{split}.csv").write_text(text, encoding="utf-8")
    return {split: len(split_lines) for split, split_lines in rows.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a synthetic audio-visual scene dataset in the TAU 2021 layout.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--clips-per-class", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=SynthConfig.seconds)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--held-out-fraction", type=float, default=0.25)
    parser.add_argument("--workers", type=int, default=2, help="clips made at once (the files do not depend on it)")
    args = parser.parse_args(argv)
    counts = generate(args.out, args.clips_per_class, args.seed, args.held_out_fraction,
                      replace(SynthConfig(), seconds=args.seconds), workers=args.workers, progress=True)
    print(f"wrote {counts['train']} train and {counts['evaluate']} held-out clips of {len(SCENES)} classes to {args.out}")


if __name__ == "__main__":
    main()
