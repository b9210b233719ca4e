"""Timing helpers the benchmark scripts share (they run as scripts, so this sits beside them)."""

from __future__ import annotations

import time


def ms(seconds: float) -> float:
    return round(1000 * seconds, 2)


def timed(fn, *args, **kwargs):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out
