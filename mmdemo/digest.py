"""sha256 of a file's bytes: weights are verified by it before they are loaded, training states
before they are resumed, and an upload is recognised by it (a transcript cache key)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of the file at ``path``, read in blocks (about 1 s per GB)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
