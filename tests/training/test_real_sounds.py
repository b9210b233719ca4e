"""The real-sound dataset built from Debian's packages: the catalogue it reads holds every sound it keeps."""

import wave

import pytest

from mmdemo.data.opensfx import OPENSFX_CAT, read_opensfx
from training.data.real_sounds import OPENSFX


def test_the_debian_catalogue_reads_whole():
    if not OPENSFX_CAT.is_file():
        pytest.skip("needs Debian's openttd-opensfx")
    sounds = read_opensfx(OPENSFX_CAT)
    assert len(sounds) == 73
    titles = {s.index: s.title for s in sounds}
    assert titles[14] == "Level crossing" and titles[29] == "Applause" and titles[52] == "Wind"
    assert set(OPENSFX) <= set(titles)
    with _open(sounds[29].wav) as handle:
        assert handle.getframerate() == 44100 and handle.getnframes() > 44100


def _open(data: bytes):
    import io

    return wave.open(io.BytesIO(data), "rb")
