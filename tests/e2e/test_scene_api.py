"""/classify_scene over HTTP with gradio_client, on the bundled scene models and example clips."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from mmdemo.config import DEFAULT_ASSETS
from mmdemo.media.ffmpeg import ffmpeg_exe

pytestmark = pytest.mark.slow

EXAMPLES = sorted((DEFAULT_ASSETS / "scene_examples").glob("*-synthetic-*.mp4"))  # held-out synthetic scenes
REAL_CLIP = DEFAULT_ASSETS / "scene_examples" / "real-vtest-campus-road-10s.mp4"  # opencv-doc's vtest.avi, no sound


def true_label(clip: Path) -> str:
    return clip.name.split("-synthetic-")[0]  # TAU-style names start with the scene


def ffmpeg(*args) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *map(str, args)], check=True, timeout=120)


@pytest.fixture(scope="module")
def client(app_url, tmp_path_factory) -> Client:
    return Client(app_url, verbose=False, analytics_enabled=False, download_files=str(tmp_path_factory.mktemp("downloads")))


def classify(client: Client, clip: Path) -> dict:
    return client.predict(handle_file(str(clip)), api_name="/classify_scene")[0]


def test_classify_scene_is_a_named_endpoint(client):
    endpoint = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/classify_scene"]
    assert [p["parameter_name"] for p in endpoint["parameters"]] == ["video"]
    assert endpoint["returns"][0]["component"] == "Json"


def test_example_clips_are_classified_with_every_model_and_a_rule(client):
    assert len(EXAMPLES) >= 5
    correct = 0
    for clip in EXAMPLES:
        payload = classify(client, clip)
        assert set(payload) >= {"label", "probabilities", "per_model", "rule"}
        assert payload["label"] == max(payload["probabilities"], key=payload["probabilities"].get)
        assert set(payload["per_model"]) == {"audio", "frames", "fusion"}
        assert payload["rule"]
        correct += payload["label"] == true_label(clip)
    assert correct >= len(EXAMPLES) // 2  # held-out clips: most are right (docs/capabilities/scene-classification.md has the figures)


def test_the_real_campus_clip_is_answered_by_the_models_that_can_see_it(client):
    payload = classify(client, REAL_CLIP)
    assert set(payload["per_model"]) == {"frames", "fusion"}
    assert "no audio track" in payload["abstained"]["audio"]
    assert payload["label"] == max(payload["probabilities"], key=payload["probabilities"].get)


@pytest.fixture(scope="module")
def variants(tmp_path_factory) -> Path:
    folder, clip = tmp_path_factory.mktemp("scene-variants"), EXAMPLES[0]
    ffmpeg("-i", clip, "-an", "-c:v", "copy", folder / "silent.mp4")
    ffmpeg("-i", clip, "-vn", "-c:a", "pcm_s16le", folder / "sound-only.wav")
    ffmpeg("-i", clip, "-frames:v", "1", "-an", folder / "one-frame.mp4")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=2:duration=130", "-f", "lavfi", "-i", "sine=duration=130",
           "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", folder / "long.mp4")
    (folder / "broken.mp4").write_text("not a video")
    return folder


def test_a_clip_without_sound_is_answered_by_its_frames(client, variants):
    payload = classify(client, variants / "silent.mp4")
    assert "audio" in payload["abstained"] and set(payload["per_model"]) == {"frames", "fusion"}


def test_a_sound_without_video_is_answered_by_the_audio_model(client, variants):
    payload = classify(client, variants / "sound-only.wav")
    assert set(payload["per_model"]) == {"audio"} and {"frames", "fusion"} <= set(payload["abstained"])


def test_a_one_frame_video_is_classified(client, variants):
    assert classify(client, variants / "one-frame.mp4")["label"]


@pytest.mark.parametrize("name, message", [("broken.mp4", "Could not read"), ("long.mp4", "up to 120 s")])
def test_bad_clips_are_errors_and_the_server_keeps_serving(client, variants, name, message):
    with pytest.raises(AppError, match=message):
        classify(client, variants / name)
    assert classify(client, EXAMPLES[0])["label"]
