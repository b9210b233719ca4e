"""Every per-session object expires: State values have a time to live, and idle sessions are forgotten whole."""

from __future__ import annotations

import datetime
import pickle

import gradio as gr
import numpy as np
from gradio.state_holder import StateHolder

from mmdemo.config import Settings
from mmdemo.pipelines.search_audio import AudioHit, AudioSearch, AudioSearchResult
from mmdemo.ui import build_app, launch_options
from mmdemo.ui.sessions import forget_idle_sessions


def test_every_state_of_the_app_expires_with_the_session_ttl():
    settings = Settings(session_ttl_seconds=123.0, warm_up=False)
    states = [block for block in build_app(settings).blocks.values() if isinstance(block, gr.State)]
    assert states, "the app keeps some per-session data"
    assert [state.time_to_live for state in states] == [123.0] * len(states)


def test_the_audio_state_keeps_the_hits_not_the_spectrograms(monkeypatch, tmp_path):
    spectrograms = [{"clip_id": f"c{i}", "power": np.full((128, 400), 1e-4, np.float32), "seconds": 10.0} for i in range(5)]
    hits = [AudioHit(f"c{i}", 0.9 - i / 10, "a caption", tmp_path / f"c{i}.wav") for i in range(5)]
    found = AudioSearchResult("beeps", hits, spectrograms=spectrograms)
    monkeypatch.setattr(AudioSearch, "search_text", lambda self, query, top_k, progress=None: found)
    demo = build_app(Settings(warm_up=False))
    search = next(fn for fn in demo.fns.values() if fn.api_name == "search_audio")
    outputs = search.fn("beeps", 5)
    kept = outputs[next(i for i, block in enumerate(search.outputs) if isinstance(block, gr.State))]
    assert kept == hits and len(pickle.dumps(kept)) < 2_000 < len(pickle.dumps(found))


def test_launch_sweeps_idle_sessions():
    assert callable(launch_options(Settings())["app_kwargs"]["lifespan"])


def test_idle_sessions_are_forgotten_whole_and_their_state_deleted():
    deleted = []
    with gr.Blocks() as demo:
        state = gr.State(time_to_live=60, delete_callback=deleted.append)
    holder = StateHolder()
    holder.set_blocks(demo)
    for session in ("idle", "active"):
        holder[session][state._id] = f"{session} data"
    now = datetime.datetime.now()
    holder.time_last_used["idle"] = now - datetime.timedelta(seconds=61)
    assert forget_idle_sessions(holder, 60, now=now) == 1
    assert list(holder.session_data) == ["active"] and list(holder.time_last_used) == ["active"]
    assert deleted == ["idle data"]
