"""Forget idle sessions, so that the memory the server keeps per visitor or API client comes back.

Gradio keeps one ``SessionState`` per session hash: its ``gr.State`` values and a copy of every
component's config holding the last outputs shown (a spectrogram plot, tables, JSON). It drops
whole sessions only beyond 10,000 of them, and ``gr.State(time_to_live=...)`` frees only the
State values, so every ``gradio_client.Client`` left several MB behind for good (issue 19).
Here the server forgets every session idle for longer than ``Settings.session_ttl_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import AsyncIterator, Callable
from typing import Any

SWEEP_SECONDS = 10.0  # how often idle sessions are looked for; at most this late past their TTL


def forget_idle_sessions(holder: Any, ttl_seconds: float, now: datetime.datetime | None = None) -> int:
    """Drop the sessions of ``holder`` (gradio's ``StateHolder``) idle for over ``ttl_seconds``; how many."""
    cutoff = (now or datetime.datetime.now()) - datetime.timedelta(seconds=ttl_seconds)
    with holder.lock:
        idle = [session for session, used in holder.time_last_used.items() if used < cutoff]
    for session in idle:
        holder.delete_state(session)  # runs each gr.State's delete_callback
        with holder.lock:
            holder.session_data.pop(session, None)
            holder.time_last_used.pop(session, None)
    return len(idle)


def session_expiry(ttl_seconds: float) -> Callable[[Any], contextlib.AbstractAsyncContextManager]:
    """A FastAPI lifespan (``launch(app_kwargs={"lifespan": ...})``) that sweeps idle sessions while the server runs."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async def sweep() -> None:
            while True:
                await asyncio.sleep(min(SWEEP_SECONDS, ttl_seconds))
                forget_idle_sessions(app.state_holder, ttl_seconds)

        task = asyncio.create_task(sweep())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan
