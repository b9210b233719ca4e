"""Names shown to users keep the last part of a path and nothing of the server's layout."""

from __future__ import annotations

from mmdemo.names import without_dirs


def test_absolute_and_home_paths_become_their_last_part():
    assert without_dirs("--data /srv/me/runs/qa-data --out runs/x") == "--data qa-data --out runs/x"
    assert without_dirs("same data (/work/main/runs/d) with") == "same data (d) with"
    assert without_dirs("weights in ~/models/m1 and /srv/a/") == "weights in m1 and a"


def test_urls_relative_paths_and_slashes_in_words_stay():
    text = "see https://example.org/a/b, training/configs/x.yaml, and/or 1/2"
    assert without_dirs(text) == text
