from __future__ import annotations

from mmdemo.ui.examples import example_videos


def test_example_videos_lists_the_mp4s_of_a_folder_sorted(tmp_path):
    for name in ("b.mp4", "a.mp4", "notes.json"):
        (tmp_path / name).write_text("x")
    assert example_videos(tmp_path) == [[str(tmp_path / "a.mp4")], [str(tmp_path / "b.mp4")]]
    assert example_videos(tmp_path / "missing") == []
