"""The one place that starts ffmpeg: the binary imageio-ffmpeg ships, with time limits.

Only ``ffmpeg`` is shipped (no ``ffprobe``), so probing reads the stream summary that
``ffmpeg -i FILE`` prints on stderr; see ``mmdemo.media.video.probe``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from mmdemo.errors import InputError

# Inputs may only be read from local files: a playlist or other text format that ffmpeg
# detects inside an upload must not make the server fetch URLs.
_INPUT_GUARD = ["-protocol_whitelist", "file"]
_ADDRESS = re.compile(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*")


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with the imageio-ffmpeg wheel."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def input_args(path: str | Path) -> list[str]:
    """``-i`` arguments for a local file; ``file:`` keeps names with ':' or a leading '-' literal."""
    return [*_INPUT_GUARD, "-i", f"file:{Path(path).resolve()}"]


def _start(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        raise InputError(
            f"Processing the file took longer than {timeout:.0f} seconds and was stopped; "
            "try a shorter or smaller file."
        ) from e


def summarize_stderr(stderr: str, max_lines: int = 3) -> str:
    """The last few meaningful ffmpeg error lines, without ``[demuxer @ 0x...]`` addresses."""
    lines = []
    for raw in stderr.replace("\r", "\n").splitlines():
        line = _ADDRESS.sub("", raw).strip()
        if line and not line.startswith(("frame=", "size=", "At least one output")):
            lines.append(line)
    unique = list(dict.fromkeys(lines[-max_lines * 2 :]))
    return "; ".join(unique[-max_lines:]) or "unknown ffmpeg error"


def run_ffmpeg(args: list[str], *, timeout: float = 600) -> bytes:
    """Run ``ffmpeg ARGS`` and return its stdout; on failure raise InputError naming the cause."""
    proc = _start(args, timeout)
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace")
        raise InputError(f"ffmpeg could not process the file: {summarize_stderr(stderr)}")
    return proc.stdout


def read_header(path: str | Path, *, timeout: float = 30) -> str:
    """stderr of ``ffmpeg -i PATH`` with no output: the container and stream summary."""
    # ffmpeg exits 1 here by design ("At least one output file must be specified").
    return _start(input_args(path), timeout).stderr.decode("utf-8", "replace")


def measure_duration(path: str | Path, *, timeout: float = 120) -> float | None:
    """Duration found by remuxing every packet to nowhere, for files whose header has none
    (browser-recorded WebM); None when ffmpeg reports no time at all."""
    proc = _start([*input_args(path), "-map", "0", "-c", "copy", "-f", "null", "-"], timeout)
    times = re.findall(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)", proc.stderr.decode("utf-8", "replace"))
    if not times:
        return None
    h, m, s = times[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)
