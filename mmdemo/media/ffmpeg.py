"""The one place that starts ffmpeg on user files: the binary imageio-ffmpeg ships, with an
allow-list of demuxers, a wall-clock limit and an output limit on every run.

An upload is data, never instructions. Several ffmpeg formats are instructions: an HLS or
DASH playlist, an ffconcat script or an image-sequence pattern names other files (or URLs),
and ffmpeg follows them; the protocol allow-list alone cannot stop that, since reading local
files is exactly what it allows. So ffmpeg is told which demuxers it may use at all
(``-format_whitelist``, which ffmpeg also hands down to the nested demuxers a container may
open), whatever the file's name says and whichever ffmpeg build is installed.

Only ``ffmpeg`` is shipped (no ``ffprobe``), so probing reads the stream summary that
``ffmpeg -i FILE`` prints on stderr; see ``mmdemo.media.video.probe``.
"""

from __future__ import annotations

import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from mmdemo.errors import InputError

# ffmpeg demuxer names: MP4/MOV/M4A, Matroska/WebM, AVI, MPEG-TS, Ogg, WAV, FLAC, MP3, and the
# two subtitle formats read from containers. None of them opens another file.
ALLOWED_DEMUXERS = ("mov", "matroska", "webm", "avi", "mpegts", "ogg", "wav", "flac", "mp3", "srt", "webvtt")
ALLOWED_FORMATS_TEXT = "MP4/MOV/M4A, MKV/WebM, AVI, MPEG-TS, Ogg, WAV, FLAC or MP3"
_INPUT_GUARD = ["-format_whitelist", ",".join(ALLOWED_DEMUXERS), "-protocol_whitelist", "file"]
_REFUSED_FORMAT = "Format not on whitelist"
_ADDRESS = re.compile(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*")
_STDERR_KEEP = 64 * 1024  # bytes kept of each end of ffmpeg's log: the header, and why it stopped
DEFAULT_MAX_OUTPUT = 2 * 1024**3  # bytes one ffmpeg run may write to stdout


@dataclass(frozen=True)
class FfmpegRun:
    returncode: int
    stdout: bytes
    stderr: str  # the first and the last _STDERR_KEEP bytes, decoded


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with the imageio-ffmpeg wheel."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def input_args(path: str | Path) -> list[str]:
    """``-i`` arguments for a local media file, restricted to the allowed demuxers.

    ``file:`` keeps names with ':' or a leading '-' literal.
    """
    return [*_INPUT_GUARD, "-i", f"file:{Path(path).resolve()}"]


def _drain(stream, head: bytearray, tail: bytearray) -> None:
    """Read a pipe to its end, keeping its head and its tail: a log can be endless."""
    for chunk in iter(lambda: stream.read1(65536), b""):
        room = _STDERR_KEEP - len(head)
        head += chunk[:room]
        tail += chunk[room:] if room > 0 else chunk
        del tail[:-_STDERR_KEEP]


def _start(args: list[str], timeout: float, max_output: int = DEFAULT_MAX_OUTPUT) -> FfmpegRun:
    """Run ffmpeg, killing it past ``timeout`` seconds or ``max_output`` bytes of stdout."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        proc.kill()

    timer = threading.Timer(timeout, expire)
    stderr_head, stderr_tail = bytearray(), bytearray()
    reader = threading.Thread(target=_drain, args=(proc.stderr, stderr_head, stderr_tail), daemon=True)
    timer.start()
    reader.start()
    chunks, total = [], 0
    try:
        for chunk in iter(lambda: proc.stdout.read1(1 << 20), b""):
            total += len(chunk)
            if total > max_output:
                proc.kill()
                raise InputError(
                    f"Decoding the file produced more than {max_output / 1e6:,.0f} MB and was stopped; "
                    "try a shorter or smaller file."
                )
            chunks.append(chunk)
    finally:
        proc.stdout.close()
        proc.wait()
        timer.cancel()
        reader.join()
        proc.stderr.close()
    if expired.is_set():
        raise InputError(
            f"Processing the file took longer than {timeout:.0f} seconds and was stopped; "
            "try a shorter or smaller file."
        )
    stderr = bytes(stderr_head + stderr_tail).decode("utf-8", "replace")
    if _REFUSED_FORMAT in stderr:
        raise InputError(
            f"This file is not in a media format the server reads ({ALLOWED_FORMATS_TEXT}). Playlists, "
            "manifests, concat scripts and image sequences are refused: they name other files."
        )
    return FfmpegRun(proc.returncode, b"".join(chunks), stderr)


def summarize_stderr(stderr: str, max_lines: int = 3) -> str:
    """The last few meaningful ffmpeg error lines, without ``[demuxer @ 0x...]`` addresses."""
    lines = []
    for raw in stderr.replace("\r", "\n").splitlines():
        line = _ADDRESS.sub("", raw).strip()
        if line and not line.startswith(("frame=", "size=", "At least one output")):
            lines.append(line)
    unique = list(dict.fromkeys(lines[-max_lines * 2 :]))
    return "; ".join(unique[-max_lines:]) or "unknown ffmpeg error"


def run_ffmpeg(args: list[str], *, timeout: float = 600, max_output: int = DEFAULT_MAX_OUTPUT) -> bytes:
    """Run ``ffmpeg ARGS`` and return its stdout; on failure raise InputError naming the cause."""
    run = _start(args, timeout, max_output)
    if run.returncode != 0:
        raise InputError(f"ffmpeg could not process the file: {summarize_stderr(run.stderr)}")
    return run.stdout


def read_header(path: str | Path, *, timeout: float = 30) -> str:
    """stderr of ``ffmpeg -i PATH`` with no output: the container and stream summary."""
    # ffmpeg exits 1 here by design ("At least one output file must be specified").
    return _start(input_args(path), timeout).stderr


def measure_duration(path: str | Path, *, timeout: float = 120) -> float | None:
    """Duration found by remuxing every packet to nowhere, for files whose header has none
    (browser-recorded WebM); None when ffmpeg reports no time at all."""
    run = _start([*input_args(path), "-map", "0", "-c", "copy", "-f", "null", "-"], timeout)
    times = re.findall(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)", run.stderr)
    if not times:
        return None
    h, m, s = times[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)
