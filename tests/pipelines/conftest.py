"""Uploads for the answer locator, made with the bundled ffmpeg, and one shared locator.

The standard upload is a 40 s testsrc2 clip with a tone plus an SRT that talks about several
topics in turn, so a question about one of them has one right place (``Talk.hamstring``).
Helpers are handed out as fixtures because tests are imported with --import-mode=importlib.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from mmdemo.config import Settings
from mmdemo.media.ffmpeg import ffmpeg_exe
from mmdemo.media.subtitles import Caption, to_srt
from mmdemo.pipelines.locate_answer import AnswerLocator


@dataclass(frozen=True)
class Talk:
    lines: tuple[str, ...] = (
        "Welcome back to the clinic channel, today we cover three short topics.",
        "First, a word about booking appointments online through our website.",
        "You can also call the front desk during opening hours.",
        "Now the hamstring stretch: sit on the floor with one leg straight in front of you.",
        "Reach toward your toes and hold the hamstring stretch for thirty seconds.",
        "Switch legs and repeat the hamstring stretch three times on each side.",
        "Next, ice for a sprained ankle: wrap ice in a thin towel.",
        "Hold the ice on the ankle for fifteen minutes, then take it off for an hour.",
        "Finally, remember to drink water and rest between exercises.",
        "Thanks for watching, and see you next week.",
    )
    step: float = 4.0  # seconds per caption
    hamstring: tuple[float, float] = (12.0, 24.0)  # lines 3-5
    question: str = "How do I stretch my hamstring?"

    @property
    def seconds(self) -> float:
        return len(self.lines) * self.step


def srt_text(lines, step: float = Talk.step) -> str:
    return to_srt([Caption(i * step, (i + 1) * step - 0.2, text) for i, text in enumerate(lines)])


def ffmpeg(*args: str | Path) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *map(str, args)], check=True, timeout=120)


def make_clip(path: Path, seconds: float, audio: bool = True) -> Path:
    video = ["-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=10:duration={seconds}"]
    sound = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"] if audio else []
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"] + (["-c:a", "aac"] if audio else [])
    ffmpeg(*video, *sound, *codecs, path)
    return path


@pytest.fixture(scope="session")
def talk() -> Talk:
    return Talk()


@pytest.fixture(scope="session")
def run_ffmpeg() -> Callable[..., None]:
    return ffmpeg


@pytest.fixture(scope="session")
def make_upload(tmp_path_factory) -> Callable[..., tuple[Path, Path]]:
    """make_upload(name, lines, audio=True) -> (clip, srt) in a fresh folder."""

    def make(name: str, lines, audio: bool = True) -> tuple[Path, Path]:
        folder = tmp_path_factory.mktemp(name)
        subs = folder / f"{name}.srt"
        subs.write_text(srt_text(lines), encoding="utf-8")
        return make_clip(folder / f"{name}.mp4", len(lines) * Talk.step, audio), subs

    return make


@pytest.fixture(scope="session")
def write_srt() -> Callable[..., Path]:
    """write_srt(path, lines, step) -> path: one cue per line, ``step`` seconds apart."""

    def write(path: Path, lines, step: float = Talk.step) -> Path:
        path.write_text(srt_text(lines, step), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def narrated_upload(tmp_path_factory, talk):
    """(clip, narration): the talk spoken by espeak-ng under a test pattern, with no subtitles at all."""
    from training.data.synthetic_speech import narrate, narrated_clip

    narration = narrate(list(talk.lines), tmp_path_factory.mktemp("narrated") / "narrated_talk.wav")
    return narrated_clip(narration, narration.wav.with_suffix(".mp4")), narration


@pytest.fixture(scope="session")
def upload(make_upload, talk) -> tuple[Path, Path]:
    return make_upload("clinic_talk", talk.lines)


@pytest.fixture(scope="session")
def clip(upload) -> Path:
    return upload[0]


@pytest.fixture(scope="session")
def srt(upload) -> Path:
    return upload[1]


@pytest.fixture(scope="session")
def locator() -> AnswerLocator:
    """One locator (and one MiniLM) for the whole session, as the app has."""
    return AnswerLocator.load(Settings())
