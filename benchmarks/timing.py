"""Helpers the benchmark scripts share: timing, this process's memory, a free loopback port
(they run as scripts, so this sits beside them)."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path


def ms(seconds: float) -> float:
    return round(1000 * seconds, 2)


def timed(fn, *args, **kwargs):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def proc_status_kb(field: str) -> int:
    """A memory field of this process from /proc (Linux), in kB: ``VmRSS`` (resident now) or
    ``VmHWM`` (the peak since ``reset_peak_rss``)."""
    found = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(encoding="ascii"), re.M)
    if found is None:
        raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")
    return int(found.group(1))


def reset_peak_rss() -> None:
    """Make ``VmHWM`` (the peak resident set) equal to the current resident set."""
    Path("/proc/self/clear_refs").write_text("5", encoding="ascii")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
