"""Suite-wide set-up: every test runs offline, as the app does; hostile uploads for the
media readers and the endpoints alike."""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import pytest

from mmdemo.config import set_offline_environment

set_offline_environment()
# A gradio server deletes the files it made in its cache folder when it closes, and outputs are
# named by content: a suite sharing /tmp/gradio with another run could lose its live files.
os.environ.setdefault("GRADIO_TEMP_DIR", tempfile.mkdtemp(prefix="mmdemo-tests-gradio-"))


# ---------------------------------------------------------------------------------------------
# Uploads that are instructions rather than media: playlists, manifests, concat scripts. Each
# names a file on the server's disk: a named pipe, so that ffmpeg opening it would block until
# the time limit instead of answering at once.


def hls(target: Path, live: bool = False) -> str:
    end = "" if live else "#EXT-X-ENDLIST\n"
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n{target}\n{end}"


def dash(target: Path) -> str:
    return (
        '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        'mediaPresentationDuration="PT10S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">'
        '<Period><AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="1000">'
        f"<BaseURL>file:{target}</BaseURL></Representation></AdaptationSet></Period></MPD>\n"
    )


def ffconcat(target: Path) -> str:
    return f"ffconcat version 1.0\nfile '{target}'\n"


def _chunk(tag: bytes, data: bytes) -> bytes:
    return tag + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def avi_with_playlist(text: str) -> bytes:
    """An AVI whose one stream is a GAB2 subtitle chunk holding ``text`` (the classic way to
    smuggle a playlist past an extension check into ffmpeg's nested subtitle probe)."""
    avih = struct.pack("<14I", 40000, 0, 0, 0x10, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0)
    strh = b"txts" + b"\0" * 4 + struct.pack("<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1, 25, 0, 1, 0, 0xFFFFFFFF, 0, 0, 0, 0, 0)
    strl = b"LIST" + struct.pack("<I", 4 + len(_chunk(b"strh", strh)) + len(_chunk(b"strf", b""))) + b"strl" \
        + _chunk(b"strh", strh) + _chunk(b"strf", b"")
    hdrl_body = b"hdrl" + _chunk(b"avih", avih) + strl
    hdrl = b"LIST" + struct.pack("<I", len(hdrl_body)) + hdrl_body
    title = "x".encode("utf-16-le") + b"\0\0"
    gab2 = b"GAB2\0" + struct.pack("<H", 2) + struct.pack("<I", len(title)) + title \
        + struct.pack("<HI", 4, len(text)) + text.encode()
    movi_body = b"movi" + _chunk(b"00tx", gab2)
    movi = b"LIST" + struct.pack("<I", len(movi_body)) + movi_body
    body = b"AVI " + hdrl + movi
    return b"RIFF" + struct.pack("<I", len(body)) + body


BUILDERS = {
    "hls.m3u8": lambda p: hls(p).encode(),
    "hls-renamed.mp4": lambda p: hls(p).encode(),
    "live.m3u8": lambda p: hls(p, live=True).encode(),
    "dash-renamed.mp4": lambda p: dash(p).encode(),
    "manifest.mpd": lambda p: dash(p).encode(),
    "concat.ffconcat": lambda p: ffconcat(p).encode(),
    "concat.txt": lambda p: ffconcat(p).encode(),
    "playlist-in.avi": lambda p: avi_with_playlist(hls(p)),
    "frames-%03d.png": lambda p: b"not an image sequence either",
}


class HostileUploads(dict):
    """name -> upload path, plus the pipe they all point at and a check that it stayed shut."""

    def __init__(self, folder: Path) -> None:
        self.pipe = folder / "server-secret.mp4"
        os.mkfifo(self.pipe)
        super().__init__()
        for name, build in BUILDERS.items():
            (folder / name).write_bytes(build(self.pipe))
            self[name] = folder / name

    def never_opened(self) -> bool:
        """True while no reader holds the pipe: a non-blocking writer open fails with ENXIO."""
        try:
            fd = os.open(self.pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return True
        os.close(fd)
        return False


@pytest.fixture(scope="module")
def hostile_uploads(tmp_path_factory) -> HostileUploads:
    return HostileUploads(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def dual_encoder_config():
    """A small audio-text dual encoder: two CNN blocks, 1 s segments, MiniLM's top layer trained."""
    from mmdemo.models.audio_text import AudioTowerConfig, DualEncoderConfig

    return DualEncoderConfig(audio=AudioTowerConfig(cnn_channels=(8, 16), cnn_segment_seconds=1.0), embed_dim=32,
                             text_train_layers=1)


@pytest.fixture(scope="module")
def dual_encoder(dual_encoder_config):
    """That encoder built with seed 0, in eval mode (MiniLM's bundled weights for the text tower)."""
    import torch

    from mmdemo.models.audio_text import DualEncoder

    torch.manual_seed(0)
    return DualEncoder.from_config(dual_encoder_config, pretrained=True).eval()
