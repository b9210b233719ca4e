"""Issue 13 item 9: the API as ``view_api()`` shows it: JSON dict first, real names, optional inputs optional."""

from __future__ import annotations

import re

import pytest
from gradio_client import Client

pytestmark = pytest.mark.slow

ENDPOINTS = {"/locate_answer", "/search_audio", "/search_by_audio", "/classify_scene", "/caption_video", "/meltr_weights"}
OPTIONAL = {  # inputs a caller may leave out, with the default the client then sends
    "/locate_answer": {"video": None, "subtitles": None, "top_k": 5},
    "/search_audio": {"top_k": 5},
    "/search_by_audio": {"top_k": 5},
    "/caption_video": {"transcript": None, "beam": 1},
}
UNNAMED = re.compile(r"(value|parameter)_\d+")  # what gradio calls a component without a label


@pytest.fixture(scope="module")
def api(app_url) -> dict:
    return Client(app_url, verbose=False, analytics_enabled=False).view_api(return_format="dict", print_info=False)


def test_the_named_endpoints_are_the_contract(api):
    assert set(api["named_endpoints"]) == ENDPOINTS


def test_every_endpoint_answers_json_first(api):
    for name, endpoint in api["named_endpoints"].items():
        assert endpoint["returns"][0]["component"] == "Json", name


def test_inputs_and_outputs_have_real_names(api):
    for name, endpoint in api["named_endpoints"].items():
        names = [r["label"] for r in endpoint["returns"]]
        names += [p["label"] for p in endpoint["parameters"]] + [p["parameter_name"] for p in endpoint["parameters"]]
        assert all(n and not UNNAMED.fullmatch(n) for n in names), (name, names)


def test_optional_inputs_are_optional(api):
    for name, endpoint in api["named_endpoints"].items():
        optional = {p["parameter_name"]: p["parameter_default"] for p in endpoint["parameters"] if p["parameter_has_default"]}
        assert optional == OPTIONAL.get(name, {}), name


def test_the_first_output_is_a_json_object(app_url):
    client = Client(app_url, verbose=False, analytics_enabled=False)
    assert isinstance(client.predict("slow high beeps", api_name="/search_audio")[0], dict)  # top_k left out
    assert isinstance(client.predict(api_name="/meltr_weights")[0], dict)
    assert isinstance(client.predict("How do I remove a tick?", api_name="/locate_answer")[0], dict)
