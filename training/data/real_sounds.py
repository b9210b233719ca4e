"""Real recordings with plain descriptions, from two Debian packages and the Clotho sample.

``python -m training.data.real_sounds --out DIR [--collection DIR]`` reads

- OpenSFX (Debian ``openttd-opensfx``): 73 real, edited recordings in one catalogue,
  ``opensfx.cat`` (read by ``mmdemo.data.opensfx``), each titled by what it is ("Level crossing",
  "Applause") and credited with its author and licence (CC0 1.0, CC-BY 3.0 or CC-BY-SA 3.0);
- Scratch 1.4's sound library (Debian ``scratch``, ``Media/Sounds/<category>/<Name>.wav|mp3``,
  CC-BY-SA 3.0, MIT Media Lab);
- the seven Clotho recordings of ``../shared/data/clotho_sample`` with their five human captions.

Only sounds whose title says what is heard are kept (``OPENSFX`` and ``SCRATCH`` below; game
jingles, cartoon mixes, music loops and sung words are left out). Each gets two captions: a
plain description written from its title, and the title itself. The recordings are split by
description, so that no held-out sound shares a description with a training one: a group goes to
the held-out split when a hash of its description falls in the last quarter. DIR gets the Clotho
layout (``development`` = training sounds + the Clotho sample [+ ``--synthetic``'s development
split], ``evaluation`` = held-out sounds),
and ``--collection`` gets every kept OpenSFX/Scratch sound (held-out ones too, as the app's
search collection) in ``real/`` with ``real_captions.csv`` and ``REAL_SOUNDS_LICENCES.md``.
All audio is decoded through ``mmdemo.media`` and written as 32 kHz mono 16-bit WAV, at most
``MAX_SECONDS`` long, shorter ones padded with silence to ``MIN_SECONDS``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmdemo.data.clotho import read_clotho
from mmdemo.data.opensfx import OPENSFX_CAT, read_opensfx
from mmdemo.media.audio import load_audio
from training.data.synthetic_audio import write_wav

SCRATCH_SOUNDS = Path("/usr/share/scratch/Media/Sounds")
CLOTHO_SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "clotho_sample"
SAMPLE_RATE = 32000  # the retriever's front end (DualEncoderConfig.front_end.sample_rate)
MAX_SECONDS = 8.0  # keeps the bundled collection small; the retriever reads 10 s segments
MIN_SECONDS = 1.0  # audio search refuses clips under 0.25 s; several Scratch sounds are 0.02-0.2 s
HELD_OUT_QUARTER = 3  # description hash mod 4 == this -> held out

# OpenSFX catalogue index -> a plain description of what is heard (from its title).
OPENSFX = {
    3: "a factory steam whistle blowing", 4: "a steam train whistle as it leaves the station",
    5: "a steam locomotive whistle going into a tunnel", 6: "a deep ship horn", 7: "a ferry horn in a harbour",
    8: "a small propeller plane engine starting", 9: "a passenger jet taking off",
    10: "a distant diesel locomotive horn", 11: "heavy machinery rumbling and clanking",
    12: "electric sparks crackling and buzzing", 13: "steam hissing from a steam engine",
    14: "a railway level crossing bell ringing", 15: "a heavy metal object crashing to the ground",
    16: "metal clanking and rattling", 17: "a car crash", 18: "a loud explosion", 19: "a big crash of metal",
    20: "a cash register till ringing", 21: "a short electronic beep", 22: "morse code beeping",
    23: "tyres screeching on the ground", 24: "a helicopter flying overhead",
    25: "an old truck engine starting and pulling away", 26: "a truck pulling away and sounding its horn",
    27: "a bus engine starting and driving off", 28: "an old bus engine starting", 29: "a crowd applauding",
    30: "a crowd going oooh", 33: "a jackhammer drilling", 35: "a car horn honking", 36: "sheep bleating",
    37: "a cow mooing", 38: "a horse neighing", 39: "a hammer striking metal in a smithy",
    40: "a circular saw cutting wood", 46: "bubbles bubbling in water", 52: "wind blowing",
    54: "a tree cracking and crashing down", 55: "a tree being cut down", 56: "a chainsaw running",
    57: "a strong wind howling", 59: "a fighter jet roaring as it takes off", 61: "jet planes roaring overhead",
    65: "an electric train leaving a station", 66: "a tropical bird calling", 67: "a lion roaring",
    68: "monkeys screaming", 69: "a propeller aeroplane taking off", 71: "a train passing by",
    72: "a tropical bird singing",
}

# Scratch sound (category/name) -> a plain description.
SCRATCH = {
    "Animal/Bird": "a bird chirping", "Animal/Cat": "a cat meowing", "Animal/Cricket": "a cricket chirping",
    "Animal/Crickets": "crickets chirping", "Animal/Dog1": "a dog barking", "Animal/Dog2": "a dog barking",
    "Animal/Duck": "a duck quacking", "Animal/Goose": "a goose honking", "Animal/Horse": "a horse neighing",
    "Animal/HorseGallop": "a horse galloping", "Animal/Kitten": "a kitten mewing", "Animal/Meow": "a cat meowing",
    "Animal/Owl": "an owl hooting", "Animal/Rooster": "a rooster crowing", "Animal/SeaLion": "a sea lion barking",
    "Animal/WolfHowl": "a wolf howling", "Effects/BellToll": "a church bell tolling",
    "Effects/Bubbles": "bubbles bubbling in water", "Effects/CarPassing": "a car driving past",
    "Effects/DoorClose": "a door closing", "Effects/DoorCreak": "a door creaking",
    "Effects/MotorcyclePassing": "a motorcycle passing by", "Effects/Plunge": "something plunging into water",
    "Effects/Pop": "a short pop", "Effects/Rattle": "a rattle shaking", "Effects/Ripples": "water rippling",
    "Effects/SewingMachine": "a sewing machine running", "Effects/Typing": "typing on a keyboard",
    "Effects/WaterDrop": "water dripping", "Effects/WaterRunning": "water running from a tap",
    "Electronic/ComputerBeeps1": "computer beeps", "Electronic/ComputerBeeps2": "computer beeps",
    "Electronic/Laser1": "a laser zap", "Electronic/Laser2": "a laser zap",
    "Human/BabyCry": "a baby crying", "Human/Cough-female": "a woman coughing", "Human/Cough-male": "a man coughing",
    "Human/FingerSnap": "fingers snapping", "Human/Footsteps-1": "footsteps walking",
    "Human/Footsteps-2": "footsteps walking", "Human/Laugh-female": "a woman laughing",
    "Human/Laugh-male1": "a man laughing", "Human/Laugh-male2": "a man laughing", "Human/Laugh-male3": "a man laughing",
    "Human/PartyNoise": "people talking and laughing at a party", "Human/Scream-female": "a woman screaming",
    "Human/Scream-male1": "a man screaming", "Human/Scream-male2": "a man screaming",
    "Human/Slurp": "someone slurping a drink", "Human/Sneeze-female": "a woman sneezing",
    "Human/Sneeze-male": "a man sneezing", "Instruments/Dijjeridoo": "a didgeridoo droning",
    "Instruments/GuitarStrum": "a guitar strum", "Instruments/StringPluck": "a string plucked",
    "Instruments/Trumpet1": "a trumpet playing", "Instruments/Trumpet2": "a trumpet playing",
    "Instruments/Tambura": "a tambura drone", "Percussion/CymbalCrash": "a cymbal crash",
    "Percussion/DrumBuzz": "a snare drum roll", "Percussion/Gong": "a gong struck",
    "Percussion/HandClap": "hands clapping", "Percussion/RideCymbal": "a ride cymbal ringing",
    "Percussion/Shaker": "a shaker shaking",
}


@dataclass(frozen=True)
class RealSound:
    name: str  # output file name
    description: str
    title: str
    source: str  # package and original name, for the licence file
    licence: str

    @property
    def held_out(self) -> bool:
        return int(hashlib.sha1(self.description.encode()).hexdigest(), 16) % 4 == HELD_OUT_QUARTER


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _title_of(name: str) -> str:
    """"HorseGallop" -> "horse gallop", "Cough-female" -> "cough female", "Dog1" -> "dog"."""
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("-", " ")
    return re.sub(r"\d+", "", words).strip().lower()


def _write(target: Path, source: Path) -> None:
    """Decoded, cut to MAX_SECONDS, and padded with silence to MIN_SECONDS (a 0.1 s bark is still a bark)."""
    samples = load_audio(source, SAMPLE_RATE, max_seconds=MAX_SECONDS)
    write_wav(target, np.pad(samples, (0, max(0, round(MIN_SECONDS * SAMPLE_RATE) - len(samples)))), SAMPLE_RATE)


def convert_sounds(out: Path, opensfx: Path, scratch: Path) -> list[RealSound]:
    """Decode the kept sounds into ``out`` (32 kHz mono WAV); their descriptions and credits."""
    out.mkdir(parents=True, exist_ok=True)
    sounds = []
    with tempfile.TemporaryDirectory() as tmp:
        for entry in read_opensfx(opensfx):
            if entry.index not in OPENSFX:
                continue
            raw = Path(tmp) / f"{entry.index}.wav"
            raw.write_bytes(entry.wav)
            name = f"opensfx-{entry.index:02d}-{_slug(entry.title)}.wav"
            _write(out / name, raw)
            sounds.append(RealSound(name, OPENSFX[entry.index], entry.title.lower(),
                                    f"OpenSFX {entry.index}: {entry.credit}", entry.licence))
    for key, description in SCRATCH.items():
        found = [p for p in (scratch / f"{key}.wav", scratch / f"{key}.mp3") if p.is_file()]
        if not found:
            raise FileNotFoundError(f"{scratch}/{key}.wav|mp3 is missing (is Debian's scratch installed?)")
        name = f"scratch-{_slug(key)}.wav"
        _write(out / name, found[0])
        sounds.append(RealSound(name, description, _title_of(key.split("/")[1]),
                                f"Scratch 1.4 Media/Sounds/{found[0].relative_to(scratch)} (MIT Media Lab)",
                                "Creative Commons Attribution-ShareAlike 3.0"))
    return sounds


def _write_captions(path: Path, rows: Sequence[tuple[str, Sequence[str]]]) -> None:
    width = max(len(captions) for _, captions in rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file_name", *(f"caption_{i + 1}" for i in range(width))])
        for name, captions in rows:
            writer.writerow([name, *captions, *[""] * (width - len(captions))])


def write_licences(path: Path, sounds: Sequence[RealSound]) -> None:
    lines = ["# Real recordings in assets/sounds/real: sources and licences", "",
             "Made by `python -m training.data.real_sounds` (see assets/MANIFEST) from Debian's",
             "`openttd-opensfx` (OpenSFX: CC0 1.0, CC-BY 3.0 or CC-BY-SA 3.0 per sound, as credited below;",
             "the set as a whole is CC-BY-SA 3.0) and `scratch` (Scratch 1.4 media: CC-BY-SA 3.0, MIT Media Lab).",
             "Each file was decoded, mixed to mono, resampled to 32 kHz and cut to at most 8 s: adapted material,",
             "shared under the same licences. https://creativecommons.org/licenses/by-sa/3.0/", "",
             "| file | licence | credit |", "|---|---|---|"]
    lines += [f"| {s.name} | {s.licence} | {s.source.replace('|', '/')} |" for s in sounds]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build(out: Path, collection: Path | None, opensfx: Path, scratch: Path, clotho: Path,
          synthetic: Path | None = None) -> dict[str, int]:
    """The training/held-out dataset in ``out`` and, optionally, the app's real-sound collection."""
    for split in ("development", "evaluation"):
        (out / split).mkdir(parents=True, exist_ok=True)
    sounds = convert_sounds(out / "all", opensfx, scratch)
    splits: dict[str, list[tuple[str, Sequence[str]]]] = {"development": [], "evaluation": []}
    for sound in sounds:
        split = "evaluation" if sound.held_out else "development"
        (out / split / sound.name).write_bytes((out / "all" / sound.name).read_bytes())
        splits[split].append((sound.name, (sound.description, sound.title)))
    captions = {}
    for table in sorted(clotho.glob("clotho_captions_*.csv")):  # the seven are in the evaluation CSV
        with table.open(newline="", encoding="utf-8-sig") as handle:
            captions.update({row["file_name"]: [row[f"caption_{i}"] for i in range(1, 6)] for row in csv.DictReader(handle)})
    for wav in sorted((clotho / "audio").glob("*.wav")):
        name = f"clotho-{_slug(wav.stem)}.wav"
        _write(out / "development" / name, wav)
        splits["development"].append((name, captions[wav.name]))
    if synthetic is not None:  # keeps what the bundled model knows while it learns real sounds
        for item in read_clotho(synthetic, "development"):
            (out / "development" / item.audio_path.name).write_bytes(item.audio_path.read_bytes())
            splits["development"].append((item.audio_path.name, item.captions))
    for split, rows in splits.items():
        _write_captions(out / f"clotho_captions_{split}.csv", rows)
    if collection is not None:
        (collection / "real").mkdir(parents=True, exist_ok=True)
        for sound in sounds:
            (collection / "real" / sound.name).write_bytes((out / "all" / sound.name).read_bytes())
        _write_captions(collection / "real_captions.csv", [(s.name, (s.description,)) for s in sounds])
        write_licences(collection.parent / "REAL_SOUNDS_LICENCES.md", sounds)
    return {split: len(rows) for split, rows in splits.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.data.real_sounds", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="Clotho-layout folder: development + held-out evaluation")
    parser.add_argument("--collection", type=Path, help="also write the app's collection here (e.g. assets/sounds)")
    parser.add_argument("--opensfx", type=Path, default=OPENSFX_CAT)
    parser.add_argument("--scratch", type=Path, default=SCRATCH_SOUNDS)
    parser.add_argument("--clotho", type=Path, default=CLOTHO_SAMPLE)
    parser.add_argument("--synthetic", type=Path, help="a synthetic_audio folder whose development split joins ours")
    args = parser.parse_args(argv)
    print(build(args.out, args.collection, args.opensfx, args.scratch, args.clotho, args.synthetic))
    return 0


if __name__ == "__main__":
    sys.exit(main())
