"""A narrated talk with known sentence times (espeak-ng), clips without speech, one transcriber.

Helpers are fixtures because tests are imported with --import-mode=importlib.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mmdemo.media.ffmpeg import ffmpeg_exe
from mmdemo.speech.transcriber import Transcriber
from training.data.synthetic_speech import Narration, narrate, narrated_clip

SENTENCES = (
    "Welcome back to the clinic channel, today we cover three short topics.",
    "First, a word about booking appointments online through our website.",
    "You can also call the front desk during opening hours.",
    "Now sit on the floor with one leg straight in front of you.",
    "Reach toward your toes and hold the stretch for thirty seconds.",
    "Switch legs and repeat the stretch three times on each side.",
    "Next, wrap the ice pack in a thin towel.",
    "Hold the ice on the ankle for fifteen minutes.",
    "Finally, remember to drink water and rest between exercises.",
    "Thanks for watching, and see you next week.",
)
# A C major and an A minor chord, two seconds each: music, no speech.
CHORDS = ("aevalsrc='0.15*(sin(2*PI*t*if(lt(mod(t,4),2),261.63,220))+sin(2*PI*t*if(lt(mod(t,4),2),329.63,261.63))"
          "+sin(2*PI*t*if(lt(mod(t,4),2),392,329.63)))':s=44100:d=12")


def ffmpeg(*args) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *map(str, args)], check=True, timeout=120)


def picture(seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=5:duration={seconds}"]


@pytest.fixture(scope="session")
def narration(tmp_path_factory) -> Narration:
    return narrate(list(SENTENCES), tmp_path_factory.mktemp("talk") / "talk.wav")


@pytest.fixture(scope="session")
def narrated(narration) -> Path:
    return narrated_clip(narration, narration.wav.with_suffix(".mp4"))


@pytest.fixture(scope="session")
def speechless(tmp_path_factory) -> dict[str, Path]:
    """Clips a person could upload that hold no speech: "silence", "music" (sine chords), "no-audio"."""
    folder = tmp_path_factory.mktemp("speechless")
    video = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    ffmpeg(*picture(8), "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", "8", *video, "-c:a", "aac",
           folder / "silence.mp4")
    ffmpeg(*picture(12), "-f", "lavfi", "-i", CHORDS, *video, "-c:a", "aac", "-shortest", folder / "music.mp4")
    ffmpeg(*picture(4), *video, folder / "no-audio.mp4")
    return {name: folder / f"{name}.mp4" for name in ("silence", "music", "no-audio")}


@pytest.fixture(scope="session")
def transcriber() -> Transcriber:
    """The bundled Whisper base, loaded once for the session (its copy is cached under ~/.cache/mmdemo)."""
    return Transcriber()
