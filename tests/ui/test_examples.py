from __future__ import annotations

from mmdemo.ui.examples import example_videos


def test_example_videos_lists_the_mp4s_of_a_folder_sorted(tmp_path):
    for name in ("b.mp4", "a.mp4", "notes.json"):
        (tmp_path / name).write_text("x")
    assert example_videos(tmp_path) == [[str(tmp_path / "a.mp4")], [str(tmp_path / "b.mp4")]]
    assert example_videos(tmp_path / "missing") == []


def test_video_examples_are_offered_only_when_there_are_clips(tmp_path):
    import gradio as gr

    from mmdemo.ui.examples import add_video_examples

    (tmp_path / "park-01.mp4").write_text("x")
    with gr.Blocks() as demo:
        clip = gr.Video()
        add_video_examples(tmp_path, clip, "Example clips")
        add_video_examples(tmp_path / "missing", clip, "None here")
    labels = [c.get("props", {}).get("label") for c in demo.get_config_file()["components"]]
    assert "Example clips" in labels and "None here" not in labels
