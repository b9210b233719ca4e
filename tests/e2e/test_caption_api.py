"""/caption_video and /meltr_weights over HTTP with gradio_client, on the bundled captioner."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from mmdemo.config import DEFAULT_ASSETS
from mmdemo.media.ffmpeg import ffmpeg_exe
from mmdemo.models.captioner import LOSS_NAMES

pytestmark = pytest.mark.slow

EXAMPLES = sorted((DEFAULT_ASSETS / "caption_examples").glob("*.mp4"))


@pytest.fixture(scope="module")
def client(app_url, tmp_path_factory) -> Client:
    return Client(app_url, verbose=False, analytics_enabled=False, download_files=str(tmp_path_factory.mktemp("downloads")))


def test_both_are_named_endpoints_answering_json_first(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert [p["parameter_name"] for p in endpoints["/caption_video"]["parameters"]] == ["video", "transcript", "beam"]
    assert endpoints["/caption_video"]["returns"][0]["component"] == "Json"
    assert endpoints["/meltr_weights"]["returns"][0]["component"] == "Json"


def test_an_example_clip_gets_a_caption_greedy_and_with_beams(client):
    assert EXAMPLES
    payload, markdown, _ = client.predict(handle_file(str(EXAMPLES[0])), "", 1, api_name="/caption_video")
    assert payload["caption"] and payload["mode"] == "V" and len(payload["beams"]) == 1
    assert payload["caption"] in markdown
    payload, _, table = client.predict(handle_file(str(EXAMPLES[0])), "the circle moves to the left", 3,
                                       api_name="/caption_video")
    assert payload["mode"] == "V+T" and len(payload["beams"]) == 3 and len(table["data"]) == 3


def test_meltr_weights_come_from_the_installed_captioner(client):
    payload, weights_plot, curves_plot = client.predict(api_name="/meltr_weights")
    assert payload["tasks"] == list(LOSS_NAMES)
    assert len(payload["weights"]) == len(payload["epochs"]) >= 1
    assert all(len(row) == len(LOSS_NAMES) for row in payload["weights"])
    assert weights_plot["type"] == "plotly" and curves_plot["type"] == "plotly"


@pytest.fixture(scope="module")
def bad_clips(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bad-captions")
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1",
                    str(folder / "sound.wav")], check=True, timeout=60)
    (folder / "broken.mp4").write_text("not a video")
    return folder


@pytest.mark.parametrize("name, message", [("sound.wav", "no video stream"), ("broken.mp4", "Could not read")])
def test_bad_clips_are_errors_and_the_server_keeps_serving(client, bad_clips, name, message):
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(bad_clips / name)), "", 1, api_name="/caption_video")
    assert client.predict(handle_file(str(EXAMPLES[0])), "", 1, api_name="/caption_video")[0]["caption"]
