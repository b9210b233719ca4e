"""Narrated clips with known sentence times, spoken by espeak-ng, to test speech recognition.

Each sentence is synthesised on its own, trimmed to where its speech starts and ends, and the
sentences are joined with short silences, so the time every sentence is said is known to the
sample. ``narrated_clip`` puts the narration under a test-pattern video, as an upload would be.

    python -m training.data.synthetic_speech --out narration.mp4 [--minutes 10]
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 22050  # what espeak-ng writes
_QUIET = 0.01  # samples below this (of full scale) before and after a sentence are silence

_STEPS = ("Sit up straight and tuck your chin", "Lie on your back and bend both knees",
          "Stand with your feet apart and raise your arms", "Hold the cold pack against the swelling",
          "Wash your hands with soap and warm water", "Press firmly on the centre of the chest",
          "Roll your shoulders slowly backwards", "Breathe in through your nose and out through your mouth")
_COUNTS = ("5", "10", "15", "20", "30")  # spoken as words; written as Whisper writes them
_REASONS = ("This eases stiffness in the neck.", "Stop at once if the pain gets worse.",
            "Your doctor can tell you how often to repeat it.", "Keep your back flat against the floor.",
            "Most people feel better after a few days.", "Ask a nurse if you are not sure.")


@dataclass(frozen=True)
class Narration:
    wav: Path
    sentences: tuple[str, ...]
    starts: tuple[float, ...]  # seconds at which each sentence's speech begins
    ends: tuple[float, ...]  # and ends
    seconds: float


def script(count: int) -> list[str]:
    """``count`` instructions in varied words, like a long exercise or first-aid video."""
    steps = itertools.cycle(itertools.product(_STEPS, _COUNTS))
    lines = []
    for i in range(count):
        if i % 2:
            lines.append(_REASONS[(i // 2) % len(_REASONS)])
        else:
            step, n = next(steps)
            lines.append(f"{step}, and hold it for {n} seconds.")
    return lines


def _speak(text: str, path: Path, voice: str, words_per_minute: int) -> np.ndarray:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise FileNotFoundError("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run([exe, "-v", voice, "-s", str(words_per_minute), "-w", str(path), text], check=True, timeout=60)
    with wave.open(str(path), "rb") as handle:
        samples = np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32768
    loud = np.flatnonzero(np.abs(samples) > _QUIET)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples[:0]


def narrate(sentences: list[str], out_wav: Path, gap: float = 0.7, lead: float = 0.5, voice: str = "en-us",
            words_per_minute: int = 165) -> Narration:
    """Speak ``sentences`` one after another, ``gap`` seconds apart, into a 16-bit mono WAV."""
    out_wav = Path(out_wav)
    pieces, starts, ends, t = [np.zeros(round(lead * RATE), np.float32)], [], [], lead
    for i, sentence in enumerate(sentences):
        speech = _speak(sentence, out_wav.with_suffix(f".{i}.wav"), voice, words_per_minute)
        out_wav.with_suffix(f".{i}.wav").unlink()
        starts.append(round(t, 3))
        t += speech.size / RATE
        ends.append(round(t, 3))
        pieces += [speech, np.zeros(round(gap * RATE), np.float32)]
        t += round(gap * RATE) / RATE
    audio = np.concatenate(pieces)
    with wave.open(str(out_wav), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return Narration(out_wav, tuple(sentences), tuple(starts), tuple(ends), audio.size / RATE)


def narrated_clip(narration: Narration, out: Path, video: bool = True) -> Path:
    """The narration as AAC under a small test pattern in an MP4 (``video=False``: the AAC alone in an M4A)."""
    from mmdemo.media.ffmpeg import ffmpeg_exe

    picture = ["-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=5:duration={narration.seconds:.3f}"] if video else []
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"] if video else []
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *picture, "-i", str(narration.wav),
                    *codecs, "-c:a", "aac", "-b:a", "64k", "-shortest", str(out)], check=True, timeout=600)
    return Path(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the .mp4 to write (the narration .wav lands beside it)")
    parser.add_argument("--minutes", type=float, default=1.0)
    args = parser.parse_args(argv)
    sentences = script(max(1, round(args.minutes * 60 / 4.0)))  # about 4 s per sentence with its pause
    narrated_clip(narrate(sentences, args.out.with_suffix(".wav")), args.out)


if __name__ == "__main__":
    main()
