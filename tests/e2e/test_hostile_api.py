"""Every video endpoint, over HTTP, refuses uploads that name the server's own files (tests/
conftest.py makes them), quickly, without opening the named file, and keeps serving."""

from __future__ import annotations

import time

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from mmdemo.config import DEFAULT_ASSETS

pytestmark = pytest.mark.slow

NAMES = ["hls.m3u8", "hls-renamed.mp4", "live.m3u8", "dash-renamed.mp4", "concat.ffconcat", "playlist-in.avi"]
SCENE_EXAMPLE = sorted((DEFAULT_ASSETS / "scene_examples").glob("*.mp4"))[0]


@pytest.fixture(scope="module")
def client(app_url, tmp_path_factory) -> Client:
    return Client(app_url, verbose=False, analytics_enabled=False, download_files=str(tmp_path_factory.mktemp("downloads")))


@pytest.fixture(scope="module")
def subtitles(tmp_path_factory):
    path = tmp_path_factory.mktemp("subs") / "talk.srt"
    path.write_text("1\n00:00:00,000 --> 00:00:05,000\nHold the stretch for thirty seconds.\n", encoding="utf-8")
    return path


def call(client: Client, endpoint: str, upload, subtitles):
    if endpoint == "/locate_answer":
        return client.predict("How long do I hold the stretch?", handle_file(str(upload)), handle_file(str(subtitles)),
                              1, api_name=endpoint)
    if endpoint == "/caption_video":
        return client.predict(handle_file(str(upload)), "", 1, api_name=endpoint)
    return client.predict(handle_file(str(upload)), api_name=endpoint)


@pytest.mark.parametrize("endpoint", ["/locate_answer", "/classify_scene", "/caption_video"])
@pytest.mark.parametrize("name", NAMES)
def test_uploads_that_name_server_files_are_refused(client, hostile_uploads, subtitles, endpoint, name):
    started = time.monotonic()
    with pytest.raises(AppError, match="not in a media format the server reads|not a video or audio file|no video"):
        call(client, endpoint, hostile_uploads[name], subtitles)
    assert time.monotonic() - started < 20  # a followed live playlist held a worker for 120 s
    assert hostile_uploads.never_opened()
    assert client.predict(handle_file(str(SCENE_EXAMPLE)), api_name="/classify_scene")[0]["label"]
