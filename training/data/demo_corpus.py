"""The bundled demo corpus: short instructional clips rendered from hand-written scripts.

The app needs something to search and play before anyone uploads a file, and the repository
cannot ship real medical videos. So each clip here is drawn from its script: a title card, then
one slide per caption (big step number, a simple shape that changes per step, the caption
text), a chime at each caption start over a narration-like hum and soft pink noise, the
captions as an ``.srt`` file beside the ``.mp4`` and as a ``mov_text`` stream inside it.
Everything is seeded, so the same command gives the same files.

    python -m training.data.demo_corpus --out assets/corpus
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import tempfile
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mmdemo.media.ffmpeg import ffmpeg_exe
from mmdemo.media.subtitles import Caption, to_srt

WIDTH, HEIGHT = 640, 360
FPS = 10  # caption times are multiples of 0.1 s, so every boundary falls on a frame
SAMPLE_RATE = 22050
TITLE_SECONDS = 2.0  # title card before the first caption
OUTRO_SECONDS = 1.0  # last slide held after the last caption
BACKGROUND = (245, 247, 250)
INK = (30, 41, 59)


@dataclass(frozen=True)
class ClipScript:
    """What one clip says: an intro line, one line per step, a closing safety note."""

    video_id: str
    title: str
    intro: str
    steps: tuple[str, ...]
    safety: str
    hue: tuple[int, int, int]  # accent colour of the clip's slides

    @property
    def lines(self) -> list[str]:
        return [self.intro, *self.steps, self.safety]


SCRIPTS: tuple[ClipScript, ...] = (
    ClipScript(
        "chin-tuck-neck-pain",
        "Chin tuck exercise for neck pain",
        "The chin tuck is a simple exercise for neck pain and forward head posture.",
        (
            "Sit or stand tall with your shoulders relaxed, looking straight ahead.",
            "Place one finger on your chin to guide the movement.",
            "Gently draw your chin straight back, as if making a double chin.",
            "Keep your head level; do not tip it up or down.",
            "Hold the position for five seconds while breathing normally.",
            "Relax and let your head return to the starting position.",
            "Repeat ten times, a few times a day.",
        ),
        "Stop if you feel sharp pain, numbness or tingling, and see a physiotherapist.",
        (37, 99, 235),
    ),
    ClipScript(
        "epley-maneuver-vertigo",
        "Epley maneuver for vertigo (right ear)",
        "The Epley maneuver treats positional vertigo caused by loose inner-ear crystals.",
        (
            "Sit upright on a bed with a pillow placed behind you.",
            "Turn your head 45 degrees towards the affected side, here the right.",
            "Lie back quickly so the pillow is under your shoulders and your head tilts back.",
            "Hold for 30 seconds, or until the spinning stops.",
            "Turn your head 90 degrees to the left without raising it; hold 30 seconds.",
            "Roll onto your left side and look down at the floor; hold 30 seconds.",
            "Sit up slowly on the left side and stay seated for a few minutes.",
        ),
        "Have someone with you; see a doctor if vertigo comes with headache or weakness.",
        (124, 58, 237),
    ),
    ClipScript(
        "hands-only-cpr",
        "Hands-only CPR for adults",
        "Hands-only CPR keeps blood flowing to the brain of an adult in cardiac arrest.",
        (
            "Check the scene is safe, then tap the person and shout to see if they respond.",
            "If they are not breathing normally, call emergency services and get an AED.",
            "Place the heel of one hand in the centre of the chest, the other hand on top.",
            "Lock your elbows and keep your shoulders directly above your hands.",
            "Push hard and fast: five to six centimetres deep, 100 to 120 times a minute.",
            "Let the chest rise fully between compressions.",
            "Keep going until help arrives, an AED is ready, or they start breathing.",
        ),
        "Do not stop to check for a pulse; follow the spoken instructions of the AED.",
        (220, 38, 38),
    ),
    ClipScript(
        "hand-washing",
        "How to wash your hands properly",
        "Washing your hands for 20 seconds stops many infections from spreading.",
        (
            "Wet your hands with clean running water and apply soap.",
            "Rub your palms together to make a lather.",
            "Rub the back of each hand with the other palm, fingers interlaced.",
            "Clean between your fingers and around each thumb.",
            "Scrub your fingertips and nails against the opposite palm.",
            "Rinse your hands well under running water.",
            "Dry them with a clean towel, and use the towel to turn off the tap.",
        ),
        "Without soap and water, use a hand sanitiser with at least 60 percent alcohol.",
        (8, 145, 178),
    ),
    ClipScript(
        "pressure-bandage",
        "Applying a pressure bandage to a bleeding wound",
        "A pressure bandage controls heavy bleeding from a wound on an arm or leg.",
        (
            "Put on gloves if you have them, and call emergency services for severe bleeding.",
            "Press a clean pad or dressing firmly onto the wound.",
            "Wrap a roller bandage around the limb over the pad, starting below the wound.",
            "Overlap each turn by about half its width until the pad is covered.",
            "Secure the end with tape or a knot away from the wound.",
            "Check the fingers or toes beyond the bandage for colour, warmth and feeling.",
            "If blood soaks through, add another pad on top and keep pressing.",
        ),
        "Loosen a bandage that is too tight; life-threatening bleeding may need a tourniquet.",
        (190, 24, 93),
    ),
    ClipScript(
        "asthma-inhaler-spacer",
        "Using an asthma inhaler with a spacer",
        "A spacer helps more of the medicine from your inhaler reach your lungs.",
        (
            "Take the cap off the inhaler and shake it well.",
            "Fit the inhaler mouthpiece into the end of the spacer.",
            "Breathe out gently, away from the spacer.",
            "Seal your lips around the spacer mouthpiece.",
            "Press the inhaler once to release one puff into the spacer.",
            "Breathe in slowly and deeply, then hold your breath for about ten seconds.",
            "Wait 30 seconds, shake again, and repeat if a second puff is prescribed.",
        ),
        "Rinse your mouth after a steroid inhaler; get help if your reliever is not working.",
        (13, 148, 136),
    ),
    ClipScript(
        "home-blood-pressure",
        "Checking your blood pressure at home",
        "Home blood pressure readings help you and your doctor track your health.",
        (
            "Avoid caffeine, exercise and smoking for 30 minutes before measuring.",
            "Sit quietly for five minutes, back supported and feet flat on the floor.",
            "Rest your arm on a table so the cuff is at heart level.",
            "Wrap the cuff on bare skin, about two centimetres above the elbow crease.",
            "Press start, and stay still and silent while the cuff inflates.",
            "Take a second reading one minute later and write down both.",
        ),
        "If a reading is above 180 over 120, or you feel unwell, seek urgent care.",
        (234, 88, 12),
    ),
    ClipScript(
        "recovery-position",
        "Placing someone in the recovery position",
        "Use the recovery position for an unresponsive person who is breathing normally.",
        (
            "Kneel beside them and place the arm nearest you at a right angle.",
            "Bring the far arm across the chest and hold the back of the hand to their cheek.",
            "With your other hand, lift the far knee so that foot is flat on the floor.",
            "Pull on the raised knee to roll them towards you onto their side.",
            "Adjust the upper leg so the hip and knee are at right angles.",
            "Tilt the head back gently to keep the airway open.",
            "Call emergency services and keep checking their breathing.",
        ),
        "If they stop breathing normally, roll them onto their back and start CPR.",
        (22, 163, 74),
    ),
    ClipScript(
        "minor-burn",
        "Treating a minor burn",
        "Quick first aid helps a minor burn heal and eases the pain.",
        (
            "Move away from the heat, and take off rings or tight items near the burn.",
            "Cool the burn under cool running water for 20 minutes.",
            "Do not put ice, butter or creams on the burn.",
            "Cover it loosely with cling film or a clean non-fluffy dressing.",
            "Take paracetamol or ibuprofen for the pain if needed.",
            "Leave blisters alone to lower the risk of infection.",
        ),
        "Get medical help for large, deep or facial burns, and for burns on children.",
        (202, 138, 4),
    ),
    ClipScript(
        "heel-raises",
        "Heel raises for calf strength",
        "Heel raises strengthen the calf muscles and help your balance.",
        (
            "Stand tall with feet hip-width apart, holding a chair or wall for support.",
            "Slowly rise up onto the balls of your feet.",
            "Lift your heels as high as is comfortable.",
            "Pause for two seconds at the top.",
            "Lower your heels slowly back to the floor.",
            "Repeat ten to fifteen times, for two or three sets.",
            "To progress, try the exercise on one leg at a time.",
        ),
        "Stop if you feel pain in your calf or your Achilles tendon.",
        (79, 70, 229),
    ),
    ClipScript(
        "tick-removal",
        "Removing a tick safely",
        "Remove a tick as soon as you find it to lower the risk of infection.",
        (
            "Use fine-tipped tweezers or a tick removal tool.",
            "Grasp the tick as close to the skin as possible.",
            "Pull upwards with steady, even pressure; do not twist or jerk.",
            "Do not squeeze, burn or cover the tick with oil.",
            "Clean the bite and your hands with soap and water or alcohol.",
            "Dispose of the tick in alcohol or a sealed bag.",
        ),
        "See a doctor if a rash or fever appears in the following weeks.",
        (101, 163, 13),
    ),
    ClipScript(
        "epipen-auto-injector",
        "Using an adrenaline auto-injector (EpiPen)",
        "Use an adrenaline auto-injector at the first signs of a severe allergic reaction.",
        (
            "Hold the pen in your fist with the orange tip pointing down.",
            "Pull off the blue safety cap: blue to the sky, orange to the thigh.",
            "Push the orange tip firmly into the outer thigh until it clicks.",
            "Hold it in place for three seconds, then remove it.",
            "Call emergency services and say anaphylaxis.",
            "Lie the person down with legs raised, or sit them up if breathing is hard.",
        ),
        "If there is no improvement after five minutes, give a second pen if available.",
        (217, 119, 6),
    ),
    ClipScript(
        "shoulder-pendulum",
        "Shoulder pendulum exercise",
        "Pendulum swings gently move a stiff or recovering shoulder.",
        (
            "Stand beside a table and rest your good hand on it.",
            "Bend forwards at the hips and let your sore arm hang straight down.",
            "Relax your shoulder completely and let gravity do the work.",
            "Shift your weight to swing the arm gently forwards and backwards.",
            "Then swing it side to side, and in small circles both ways.",
            "Keep going for 30 seconds to a minute, then stand up slowly.",
        ),
        "After surgery, follow your surgeon's advice, and stop if the pain increases.",
        (2, 132, 199),
    ),
)


def caption_seconds(text: str) -> float:
    """How long a caption stays up: reading time at about 3.5 words a second, 2-4 s."""
    return round(min(4.0, max(2.0, 0.8 + 0.28 * len(text.split()))), 1)


def script_captions(script: ClipScript) -> list[Caption]:
    """The clip's captions, back to back after the title card."""
    captions, t = [], TITLE_SECONDS
    for line in script.lines:
        end = round(t + caption_seconds(line), 1)
        captions.append(Caption(t, end, line))
        t = end
    return captions


def clip_duration(script: ClipScript) -> float:
    return round(script_captions(script)[-1].end + OUTRO_SECONDS, 1)


# ----------------------------------------------------------------------------- frames


@lru_cache(maxsize=None)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu where the system has it (most Linux images), else Pillow's bundled font."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(name, size)
    except OSError:
        return ImageFont.load_default(size=size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels."""
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _draw_shape(draw: ImageDraw.ImageDraw, center: tuple[int, int], step: int, hue: tuple[int, int, int]) -> None:
    """A polygon whose corner count and turn change with the step, plus an arrow showing motion."""
    cx, cy = center
    sides = 3 + step % 5
    turn = step * 0.45
    radius = 70
    points = [
        (cx + radius * math.cos(turn + 2 * math.pi * k / sides), cy + radius * math.sin(turn + 2 * math.pi * k / sides))
        for k in range(sides)
    ]
    light = tuple(int(c + (255 - c) * 0.75) for c in hue)
    draw.ellipse((cx - 95, cy - 95, cx + 95, cy + 95), fill=light)
    draw.polygon(points, fill=hue, outline=INK, width=3)
    angle = turn + math.pi / sides
    ax, ay = cx + 100 * math.cos(angle), cy + 100 * math.sin(angle)
    bx, by = cx + 60 * math.cos(angle), cy + 60 * math.sin(angle)
    draw.line((ax, ay, bx, by), fill=INK, width=5)
    for side in (-0.5, 0.5):
        draw.line((bx, by, bx + 18 * math.cos(angle + side), by + 18 * math.sin(angle + side)), fill=INK, width=5)


def title_card(script: ClipScript) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT), script.hue)
    draw = ImageDraw.Draw(image)
    font = _font(36, bold=True)
    lines = _wrap(draw, script.title, font, WIDTH - 80)
    y = HEIGHT // 2 - 26 * len(lines)
    for line in lines:
        draw.text((WIDTH // 2, y), line, font=font, fill="white", anchor="mt")
        y += 48
    draw.text((WIDTH // 2, y + 20), "mmdemo demo corpus - rendered illustration", font=_font(16), fill="white", anchor="mt")
    return image


def caption_slide(script: ClipScript, index: int) -> Image.Image:
    """Slide for caption ``index``: 'i' for the intro, the step number, '!' for the safety note."""
    n = len(script.lines)
    badge = "i" if index == 0 else "!" if index == n - 1 else str(index)
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 36), fill=script.hue)
    draw.text((16, 18), script.title, font=_font(18, bold=True), fill="white", anchor="lm")
    draw.ellipse((40, 60, 190, 210), fill=script.hue)
    draw.text((115, 135), badge, font=_font(84, bold=True), fill="white", anchor="mm")
    label = "Intro" if index == 0 else "Safety" if index == n - 1 else f"Step {index} of {n - 2}"
    draw.text((115, 222), label, font=_font(18, bold=True), fill=INK, anchor="mt")
    _draw_shape(draw, (450, 145), index, script.hue)
    draw.rectangle((0, 254, WIDTH, HEIGHT), fill=INK)
    font = _font(22)
    y = 262
    for line in _wrap(draw, script.lines[index], font, WIDTH - 40)[:3]:
        draw.text((20, y), line, font=font, fill="white")
        y += 29
    return image


def render_frames(script: ClipScript) -> Iterator[np.ndarray]:
    """Yield every RGB frame of the clip; a thin bar along the bottom shows the elapsed time."""
    captions = script_captions(script)
    duration = clip_duration(script)
    slides = [title_card(script)] + [caption_slide(script, i) for i in range(len(captions))]
    for frame in range(round(duration * FPS)):
        t = frame / FPS
        shown = sum(1 for c in captions if c.start <= t + 1e-6)  # 0: title card
        image = slides[shown].copy()
        ImageDraw.Draw(image).rectangle((0, HEIGHT - 4, int(WIDTH * t / duration), HEIGHT), fill=script.hue)
        yield np.asarray(image, dtype=np.uint8)


# ----------------------------------------------------------------------------- audio


def render_audio(script: ClipScript, seed: int = 0) -> np.ndarray:
    """Mono float32: soft pink noise throughout, a chime at each caption and a voice-like hum.

    The hum is a few harmonics of a slowly gliding pitch, gated into one "syllable" per word,
    so the track has speech-like loudness changes that audio code can see.
    """
    rng = np.random.default_rng(seed)
    n = round(clip_duration(script) * SAMPLE_RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spectrum /= np.sqrt(np.maximum(freqs, 20.0))  # 1/f power: pink noise
    noise = np.fft.irfft(spectrum, n)
    audio = 0.01 * noise / np.abs(noise).max()
    for i, caption in enumerate(script_captions(script)):
        start = round(caption.start * SAMPLE_RATE)
        t = np.arange(round(0.6 * SAMPLE_RATE)) / SAMPLE_RATE
        chime = (np.sin(2 * np.pi * 880 * t) + 0.5 * np.sin(2 * np.pi * 1320 * t)) * np.exp(-t * 7)
        audio[start : start + len(t)] += 0.12 * chime[: n - start]
        voice_start, voice_end = caption.start + 0.35, caption.end - 0.25
        words = len(caption.text.split())
        t = np.arange(round(voice_start * SAMPLE_RATE), round(voice_end * SAMPLE_RATE)) / SAMPLE_RATE
        local = t - voice_start
        pitch = 140 + 15 * (i % 3) + 12 * np.sin(2 * np.pi * 0.7 * local)
        phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
        hum = sum(np.sin(k * phase) / k for k in (1, 2, 3, 4))
        syllables = np.sin(np.pi * local * words / (voice_end - voice_start)) ** 2
        audio[round(voice_start * SAMPLE_RATE) : round(voice_start * SAMPLE_RATE) + len(t)] += 0.06 * hum * syllables
    return audio.astype(np.float32)


def _write_wav(path: Path, audio: np.ndarray) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())


# ----------------------------------------------------------------------------- clips


def render_clip(script: ClipScript, out_dir: Path, seed: int = 0) -> dict:
    """Write ``<id>.mp4`` (H.264 + AAC + mov_text captions, faststart) and ``<id>.srt``.

    Returns the clip's corpus.json entry. x264 runs single-threaded and ffmpeg in bitexact
    mode so the bytes do not depend on the machine's core count or the run's date.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    srt_path = out_dir / f"{script.video_id}.srt"
    mp4_path = out_dir / f"{script.video_id}.mp4"
    srt_path.write_text(to_srt(script_captions(script)), encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = Path(tmp) / "audio.wav"
        _write_wav(wav_path, render_audio(script, seed))
        command = [
            ffmpeg_exe(), "-y", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS), "-i", "-",
            "-i", str(wav_path), "-i", str(srt_path),
            "-map", "0:v", "-map", "1:a", "-map", "2:s",
            "-c:v", "libx264", "-preset", "medium", "-crf", "28", "-tune", "animation", "-g", "100",
            "-threads", "1", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "48k",
            "-c:s", "mov_text", "-metadata:s:s:0", "language=eng",
            "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
            "-movflags", "+faststart", str(mp4_path),
        ]  # fmt: skip
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        for frame in render_frames(script):
            process.stdin.write(frame.tobytes())
        _, stderr = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"ffmpeg failed for {script.video_id}: {stderr.decode(errors='replace')[-2000:]}")
    return {
        "video_id": script.video_id,
        "title": script.title,
        "file": mp4_path.name,
        "subtitles": srt_path.name,
        "duration": clip_duration(script),
    }


def build_corpus(out_dir: Path, scripts: tuple[ClipScript, ...] = SCRIPTS, seed: int = 0) -> list[dict]:
    """Render every script and write ``corpus.json``; returns its entries."""
    entries = [render_clip(script, out_dir, seed=seed + i) for i, script in enumerate(scripts)]
    (Path(out_dir) / "corpus.json").write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    return entries


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("assets/corpus"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    entries = build_corpus(args.out, seed=args.seed)
    total = sum((args.out / e["file"]).stat().st_size for e in entries)
    print(f"wrote {len(entries)} clips ({total / 1e6:.1f} MB of mp4) and corpus.json to {args.out}")


if __name__ == "__main__":
    main()
