"""The one place the UI turns ``InputError`` into what a person sees; handlers never catch it themselves.

Errors that stay: in the page, one readable message where the result would be; for API callers,
``gr.Error``. A raised ``gr.Error`` shows a toast that fades and marks every output with a red
"Error" badge, leaving nothing to read. So for a request from the app's own page, ``shows_errors``
returns the message into the tab's result area and leaves the other outputs as they were
(``gr.update()``), or, with ``clear=True``, empties them, so no earlier answer stays beside the
message as if it were the answer to this request. Gradio's page marks its requests ``x-gradio-user: app`` (``gradio_client`` sends
``api``, scripts nothing); every other caller gets the same text raised as ``gr.Error``. An event
with no result area (``message=None``) gets the ``gr.Error`` everywhere.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

import gradio as gr

from mmdemo.errors import InputError

DEFAULT_TITLE = "Please check your input"


def from_page(request: gr.Request | None) -> bool:
    """Whether gradio's own page sent the request, not an API client."""
    return request is not None and request.headers is not None and request.headers.get("x-gradio-user") == "app"


def error_markdown(title: str, message: str) -> str:
    return f"### ⚠️ {title}\n{message}"


def cleared(component: Any) -> Any:
    """The update that empties one output (a per-session ``gr.State`` is forgotten)."""
    if isinstance(component, gr.State):
        return None
    if isinstance(component, gr.Dropdown):
        return gr.update(choices=[], value=None)
    return gr.update(value=None)


def shows_errors(fn: Callable, outputs: list | None = None, message: Any = None, title: str = DEFAULT_TITLE,
                 clear: bool = False) -> Callable:
    """``fn`` for an event with these ``outputs``, whose ``InputError``/``gr.Error`` lands in ``message``
    (one of them) for the page, and is raised as ``gr.Error`` (titled ``title``) otherwise.
    ``clear``: the page's other outputs are emptied instead of left as they were.

    The wrapper takes ``fn``'s parameters (so gradio still passes ``gr.Progress`` and event data)
    plus a trailing ``gr.Request``, which tells the page from an API caller.
    """
    outputs = outputs or []
    at = outputs.index(message) if message is not None else None
    parameters = list(inspect.signature(fn).parameters.values())
    try:
        hints = typing.get_type_hints(fn)
    except (NameError, TypeError):
        hints = {}

    def run(*args):
        request = args[-1] if len(args) == len(parameters) + 1 else None
        inputs = args[:-1] if len(args) == len(parameters) + 1 else args
        try:
            return fn(*inputs)
        except (InputError, gr.Error) as error:
            shown = error if isinstance(error, gr.Error) else gr.Error(str(error), title=title, print_exception=False)
            if at is None or not from_page(request):
                raise shown from error
            values = [cleared(output) if clear else gr.update() for output in outputs]
            values[at] = error_markdown(shown.title or title, shown.message)
            return tuple(values) if len(outputs) > 1 else values[0]

    request = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=gr.Request)
    run.__signature__ = inspect.Signature([*parameters, request])
    run.__annotations__ = {**hints, "request": gr.Request}
    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run
