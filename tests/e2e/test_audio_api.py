"""/search_audio and /search_by_audio over HTTP with gradio_client, on the bundled sounds and model."""

from __future__ import annotations

import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from mmdemo.config import DEFAULT_ASSETS

pytestmark = pytest.mark.slow

SOUNDS = DEFAULT_ASSETS / "sounds"


@pytest.fixture(scope="module")
def client(app_url, tmp_path_factory) -> Client:
    return Client(app_url, verbose=False, analytics_enabled=False, download_files=str(tmp_path_factory.mktemp("downloads")))


def write_wav(path: Path, samples: np.ndarray, rate: int = 32000) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def test_both_searches_are_named_endpoints_answering_json_first(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert [p["parameter_name"] for p in endpoints["/search_audio"]["parameters"]] == ["query", "top_k"]
    assert [p["parameter_name"] for p in endpoints["/search_by_audio"]["parameters"]] == ["recording", "top_k"]
    assert endpoints["/search_audio"]["returns"][0]["component"] == "Json"
    assert endpoints["/search_by_audio"]["returns"][0]["component"] == "Json"


@pytest.mark.parametrize("query, source", [("slow high beeps", "beeps"), ("a bell rings", "bell"),
                                           ("brown noise", "brown-noise")])
def test_a_description_finds_sounds_of_that_kind(client, query, source):
    payload, table, audio, playing, plot = client.predict(query, 5, api_name="/search_audio")
    assert payload["query"] == query and payload["captions"] == [] and payload["note"] == ""
    hits = payload["results"]
    assert len(hits) == 5 and [set(hit) for hit in hits] == [{"clip_id", "score", "caption"}] * 5
    assert [hit["score"] for hit in hits] == sorted((hit["score"] for hit in hits), reverse=True)
    assert source in hits[0]["clip_id"]  # clip names spell out their sources
    assert sum(source in hit["clip_id"] for hit in hits) >= 2
    assert len(table["data"]) == 5 and Path(audio).suffix == ".wav"
    assert "Playing #1" in playing and plot["type"] == "plotly"


def test_a_recording_finds_itself_and_its_captions(client):
    clip = sorted(SOUNDS.glob("*.wav"))[5]
    payload, _, _, _, _, captions, note = client.predict(handle_file(str(clip)), 3, api_name="/search_by_audio")
    assert payload["results"][0]["clip_id"] == clip.stem and payload["results"][0]["score"] > 0.999
    assert len(captions["data"]) == 3 and len(payload["captions"]) == 3 and payload["query"] == clip.name
    assert note == ""


@pytest.fixture(scope="module")
def bad_recordings(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bad-recordings")
    (folder / "notes.mp3").write_text("not audio at all")
    write_wav(folder / "silence.wav", np.zeros(32000))
    write_wav(folder / "blip.wav", 0.3 * np.sin(np.arange(3200) / 5.0))
    return folder


@pytest.mark.parametrize("name, message", [("notes.mp3", "Could not read"), ("silence.wav", "silent"),
                                           ("blip.wav", "0.10 s long")])
def test_bad_recordings_are_errors_and_the_server_keeps_serving(client, bad_recordings, name, message):
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(bad_recordings / name)), 3, api_name="/search_by_audio")
    assert len(client.predict("a bell rings", 2, api_name="/search_audio")[0]["results"]) == 2


@pytest.mark.parametrize("query, message", [("", "Please type a description of a sound"), ("x" * 5000, "too long")])
def test_bad_queries_are_errors(client, query, message):
    with pytest.raises(AppError, match=message):
        client.predict(query, 5, api_name="/search_audio")


def test_two_users_get_their_own_results(app_url, tmp_path):
    queries = ["brown noise", "a bell rings", "rising sweep", "fast clicks"]

    def ask(query: str) -> tuple[str, list]:
        user = Client(app_url, verbose=False, analytics_enabled=False, download_files=str(tmp_path / query.replace(" ", "-")))
        return query, user.predict(query, 3, api_name="/search_audio")[0]["results"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = dict(pool.map(ask, queries * 2))
    alone = {q: Client(app_url, verbose=False, analytics_enabled=False).predict(q, 3, api_name="/search_audio")[0]["results"]
             for q in queries}
    assert answers == alone
