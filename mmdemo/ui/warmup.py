"""Load every tab's models in one background thread right after start, so no click pays for it.

Each step is a pipeline's ``warm_up``, whose parts load under that pipeline's lock
(``mmdemo.pipelines.base``): a request that arrives mid-load waits on the lock and then finds the
model there, so nothing loads twice.
The status is server-wide (the models are shared and read-only); no per-user data lives here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from mmdemo.names import without_dirs

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0  # how often an open page refreshes the status line while models load


@dataclass(frozen=True)
class WarmupStatus:
    loaded: tuple[str, ...]
    loading: str | None
    failed: dict[str, str]  # step -> why (names, no server paths); that tab loads on its first use instead
    finished: bool


class Warmup:
    """Run ``steps`` (name, load) in order in a daemon thread; ``status()`` says how far it got."""

    def __init__(self, steps: list[tuple[str, Callable[[], object]]]) -> None:
        self.steps = steps
        self._loaded: list[str] = []
        self._loading: str | None = None
        self._failed: dict[str, str] = {}
        self.finished = threading.Event()

    def start(self) -> Warmup:
        threading.Thread(target=self._run, name="mmdemo-warmup", daemon=True).start()
        return self

    def _run(self) -> None:
        for name, load in self.steps:
            self._loading = name
            try:
                load()
                self._loaded.append(name)
            except Exception as error:  # a missing or broken model must not stop the others; its tab says why
                self._failed[name] = without_dirs(str(error))
                log.warning("warm-up of %s failed: %s", name, error)
        self._loading = None
        self.finished.set()

    def status(self) -> WarmupStatus:
        return WarmupStatus(tuple(self._loaded), self._loading, dict(self._failed), self.finished.is_set())


def status_markdown(status: WarmupStatus | None) -> str:
    """The page's status line; ``None``: warm-up is off, so each tab loads its models on first use."""
    if status is None:
        return "_Models load on first use._"
    failed = [f"{name} (loads on first use: {why})" for name, why in status.failed.items()]
    if status.finished:
        note = f" · not preloaded: {'; '.join(failed)}" if failed else ""
        return f"**Models ready** ({', '.join(status.loaded) or 'none'}){note}"
    done = f" · ready: {', '.join(status.loaded)}" if status.loaded else ""
    return f"**Loading models:** {status.loading or 'starting'}…{done} (a request now waits for its models)"


def add_status_line(warmup: Warmup | None) -> None:
    """A small status line that follows the warm-up until it finishes, then stops polling."""
    line = gr.Markdown(status_markdown(warmup.status() if warmup else None), elem_id="warmup-status")
    if warmup is None:
        return
    timer = gr.Timer(POLL_SECONDS)

    def refresh():
        status = warmup.status()
        return status_markdown(status), gr.Timer(active=not status.finished)

    timer.tick(refresh, outputs=[line, timer], api_visibility="private", show_progress="hidden")
