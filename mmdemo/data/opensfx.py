"""OpenSFX reader: the sound catalogue of OpenTTD's free base sound set (Debian ``openttd-opensfx``).

``opensfx.cat`` holds 73 real, edited recordings, each with a credit text naming its title,
author and licence. ``training.data.real_sounds`` builds the real-sound retrieval data from it.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

OPENSFX_CAT = Path("/usr/share/games/openttd/baseset/opensfx/opensfx.cat")  # where Debian installs it


@dataclass(frozen=True)
class CatalogSound:
    """One OpenSFX entry: its catalogue index, the credit text (title, author, licence) and a WAV file."""

    index: int
    credit: str
    wav: bytes

    @property
    def title(self) -> str:
        match = re.match(r'\s*"([^"]*)"', self.credit)
        return match.group(1) if match else self.credit.split(".")[0]

    @property
    def licence(self) -> str:
        match = re.search(r"License:\s*([^.]*(?:\.\d[^.]*)?)", self.credit)
        return match.group(1).strip() if match else "unknown"


def read_opensfx(path: str | Path) -> list[CatalogSound]:
    """Every sound of an OpenTTD sound catalogue (``opensfx.cat``, as OpenTTD's sound.cpp reads it).

    The file starts with a table of (offset, size) little-endian uint32 pairs; the first offset,
    with its top bit cleared (set in the "new format"), is also the table's length in bytes, so
    it gives the count. At each offset: one byte N, N bytes of NUL-terminated credit text, then a
    RIFF/WAVE file of ``size`` bytes.
    """
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise ValueError(f"{path} is too short to be a sound catalogue")
    count = (struct.unpack_from("<I", data, 0)[0] & 0x7FFFFFFF) // 8
    if not count or 8 * count > len(data):
        raise ValueError(f"{path}: its table would hold {count} entries; not a sound catalogue")
    sounds = []
    for index in range(count):
        offset, size = struct.unpack_from("<II", data, 8 * index)
        offset &= 0x7FFFFFFF
        length = data[offset]
        credit = data[offset + 1 : offset + 1 + length].split(b"\0")[0].decode("utf-8", "replace")
        start = offset + 1 + length
        wav = data[start : start + size]
        if len(wav) != size or wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
            raise ValueError(f"{path}: entry {index} ({credit[:40]!r}) is not a whole RIFF/WAVE file")
        sounds.append(CatalogSound(index, credit, wav))
    return sounds
