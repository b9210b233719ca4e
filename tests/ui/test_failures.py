"""shows_errors: the page gets one readable message in the result area; API callers get gr.Error."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr
import pytest

from mmdemo.errors import InputError
from mmdemo.ui.failures import from_page, shows_errors

PAGE = SimpleNamespace(headers={"x-gradio-user": "app"})  # what gradio's page sends
API = SimpleNamespace(headers={"x-gradio-user": "api"})


def answer(question, progress=gr.Progress()):
    if not question:
        raise InputError("Please type a question.")
    return {"q": question}, f"### {question}", "clip.mp4"


def test_the_page_gets_the_message_in_the_result_area_and_nothing_else_changes():
    outputs = ["raw", "text", "clip"]
    values = shows_errors(answer, outputs, "text")("", None, PAGE)
    assert values[1] == "### ⚠️ Please check your input\nPlease type a question."
    assert values[0] == values[2] == gr.update()


def test_a_new_question_that_fails_empties_the_earlier_answer():
    with gr.Blocks():
        outputs = [gr.JSON(), gr.Markdown(), gr.Video(), gr.Dropdown(choices=[("1. Chin tuck", 0)], value=0), gr.State("earlier")]
    values = shows_errors(answer, outputs, outputs[1], clear=True)("", None, PAGE)
    assert values[1].startswith("### ⚠️ Please check your input")
    assert values[0] == values[2] == gr.update(value=None)
    assert values[3] == gr.update(choices=[], value=None) and values[4] is None


def test_api_callers_and_direct_calls_get_gr_error_with_the_same_text():
    run = shows_errors(answer, ["raw", "text", "clip"], "text")
    for call in (lambda: run("", None, API), lambda: run("")):
        with pytest.raises(gr.Error, match="Please type a question."):
            call()
    assert run("hi") == answer("hi")


def test_gradio_still_sees_progress_and_gets_the_request():
    from gradio.helpers import special_args

    run = shows_errors(answer, ["raw", "text", "clip"], "text")
    inputs, progress_index, _, _ = special_args(run, ["hi"], request=PAGE)
    assert progress_index == 1 and inputs[-1] is PAGE


def test_only_gradios_page_is_the_page():
    assert from_page(PAGE) and not from_page(API) and not from_page(None)
    assert not from_page(SimpleNamespace(headers={}))  # curl, scripts


def test_without_a_result_area_the_page_gets_gr_error_too():
    run = shows_errors(answer, title="Nothing to show")
    for request in (PAGE, API, None):
        with pytest.raises(gr.Error, match="Please type a question.") as raised:
            run("", None, request)
        assert raised.value.title == "Nothing to show"
