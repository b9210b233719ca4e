"""The OpenSFX catalogue reader, on catalogues built in the test."""

import struct

import numpy as np
import pytest

from mmdemo.data.opensfx import read_opensfx


def _wav(samples: int) -> bytes:
    data = np.zeros(samples, "<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, 44100, 88200, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _catalogue(entries: list[tuple[str, bytes]]) -> bytes:
    """OpenTTD's layout: (offset | 1 << 31, size) pairs, then per entry: length byte, credit + NUL, WAV."""
    table_size = 8 * len(entries)
    blobs, offset = [], table_size
    table = b""
    for credit, wav in entries:
        name = credit.encode() + b"\0"
        blob = bytes([len(name)]) + name + wav
        table += struct.pack("<II", offset | 1 << 31, len(wav))
        blobs.append(blob)
        offset += len(blob)
    return table + b"".join(blobs)


def test_reader_splits_a_catalogue_into_credits_and_wav_files(tmp_path):
    path = tmp_path / "tiny.cat"
    path.write_bytes(_catalogue([('"Wind". By A. License: Creative Commons Zero 1.0.', _wav(10)),
                                 ('"Applause". Original "x.wav" by "y". License: Creative Commons Attribution 3.0 Unported.', _wav(3))]))
    sounds = read_opensfx(path)
    assert [s.title for s in sounds] == ["Wind", "Applause"]
    assert sounds[0].licence == "Creative Commons Zero 1.0"
    assert sounds[1].licence == "Creative Commons Attribution 3.0 Unported"
    assert sounds[1].wav == _wav(3)


def test_reader_refuses_what_is_not_a_catalogue(tmp_path):
    path = tmp_path / "bad.cat"
    path.write_bytes(struct.pack("<II", 8 | 1 << 31, 100) + b"\x05abcd\0" + b"JUNK" * 30)
    with pytest.raises(ValueError, match="RIFF"):
        read_opensfx(path)
    path.write_bytes(b"\x01")
    with pytest.raises(ValueError):
        read_opensfx(path)
