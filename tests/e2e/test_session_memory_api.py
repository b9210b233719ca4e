"""Issue 19: what 200 fresh API clients leave in the server comes back once their sessions expire.

Runs ``benchmarks/session_memory.py`` (one code path for the benchmark and the check) with a
short session TTL, so that expiry happens within the test.
"""

from __future__ import annotations

import importlib.util

import pytest

from mmdemo.config import REPO_ROOT

pytestmark = pytest.mark.slow

CLIENTS = 200
MAX_MB_PER_CLIENT = 0.5  # before the fix each client kept 3-17 MB for good


def load_benchmark():
    spec = importlib.util.spec_from_file_location("session_memory", REPO_ROOT / "benchmarks" / "session_memory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_memory_per_api_client_comes_back():
    # every client searches sounds (the worst leak: 7-17 MB each); every 10th also classifies a scene
    result = load_benchmark().run(clients=CLIENTS, baseline=20, session_ttl=2.0, wait=15.0, scene_every=10)
    assert result["sessions_held_after_idle"] == 0, result
    assert result["mb_per_client_after_idle"] < MAX_MB_PER_CLIENT, result
