"""Issue 12: nothing of the server's file system reaches users (page, header, API answers, Training tab)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from mmdemo.config import DEFAULT_ASSETS, REPO_ROOT

pytestmark = pytest.mark.slow

SERVER_PLACES = sorted({str(REPO_ROOT), "/work", str(Path.home())} - {"/"})


def leaks(text: str) -> list[str]:
    return [place for place in SERVER_PLACES if place in text]


@pytest.fixture(scope="module")
def client(app_url, tmp_path_factory) -> Client:
    return Client(app_url, verbose=False, analytics_enabled=False, download_files=str(tmp_path_factory.mktemp("downloads")))


def test_page_config_and_api_description_name_no_server_path(app_url, client):
    for url in (app_url, app_url + "config", app_url + "gradio_api/info"):
        with urllib.request.urlopen(url, timeout=30) as response:
            assert leaks(response.read().decode("utf-8")) == [], url


def test_api_answers_name_models_and_data_without_paths(client):
    located = client.predict("How do I do a chin tuck for neck pain?", None, None, 3, api_name="/locate_answer")[0]
    assert located["models"]["corpus"].endswith("min)") and leaks(json.dumps(located)) == []
    sounds = client.predict("slow high beeps", 3, api_name="/search_audio")
    scene = client.predict(handle_file(str(sorted((DEFAULT_ASSETS / "scene_examples").glob("*.mp4"))[0])),
                           api_name="/classify_scene")
    for answer in (sounds[0], scene[0], scene[1]):
        assert leaks(json.dumps(answer)) == []
