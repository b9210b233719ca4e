"""Server memory kept per API client: does it come back? (issue 19)

Launches the app in this process on 127.0.0.1, then lets ``--clients`` fresh API clients
(default 500) each call ``/search_audio`` (a bundled example description) and, every
``--scene-every``-th one, ``/classify_scene`` (a bundled example clip) once. Each client is a new
server session, as on a public Space: one ``gradio_client.Client`` connection is reused with a
new session hash per client (``reset_session``), which is all the server sees of a new client
and spares the client side re-reading the app's config each time. The first ``--baseline`` clients (default 20) warm
the models up and set the baseline RSS; the remaining clients are measured against it, so
memory that each client leaves behind shows up as ``mb_per_client``.

    python benchmarks/session_memory.py [--clients 500] [--baseline 20] [--session-ttl S]

``--session-ttl`` (seconds) shortens how long an idle session is kept, so that expiry is
exercised within the run; by default the app's own setting is used. Traffic goes to loopback
only. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]  # also when loaded as a module by the tests
os.environ.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", NO_PROXY="127.0.0.1,localhost",
                  no_proxy="127.0.0.1,localhost")

from mmdemo.config import DEFAULT_ASSETS, Settings  # noqa: E402  (after the offline environment is set)
from timing import free_port, proc_status_kb  # noqa: E402  (benchmarks/timing.py)

SCENE_EXAMPLES = sorted((DEFAULT_ASSETS / "scene_examples").glob("*.mp4"))


def settled_rss_mb() -> float:
    """RSS after a garbage collection and, where glibc offers it, returning freed heap to the OS."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return proc_status_kb("VmRSS") / 1024  # the server runs in this process


def launch(settings):
    """The app on a free loopback port; returns (demo, url)."""
    from mmdemo.ui import build_app, launch_options

    demo = build_app(settings)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_options(settings))
    return demo, f"http://127.0.0.1:{port}/"


def one_client(client, i: int, scene_every: int = 1) -> None:
    """A fresh client (a new server session) that searches sounds once, classifies a scene
    (every ``scene_every``-th client: it costs seconds), then goes away."""
    from gradio_client import handle_file

    from mmdemo.ui.audio_search import EXAMPLES

    client.reset_session()
    client.predict(EXAMPLES[i % len(EXAMPLES)], 5, api_name="/search_audio")
    if i % scene_every == 0:
        client.predict(handle_file(str(SCENE_EXAMPLES[i % len(SCENE_EXAMPLES)])), api_name="/classify_scene")


def sessions_held(demo) -> int:
    return len(demo.state_holder.session_data)


def run(clients: int, baseline: int, session_ttl: float | None, wait: float, scene_every: int = 1) -> dict:
    settings = Settings() if session_ttl is None else Settings(session_ttl_seconds=session_ttl)
    start_rss = settled_rss_mb()
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as downloads:
        # a private gradio cache: another server closing on this machine deletes the files it made
        # in the shared one, and outputs are named by content, so it would delete this run's too
        previous_cache = os.environ.get("GRADIO_TEMP_DIR")
        os.environ["GRADIO_TEMP_DIR"] = cache
        demo, url = launch(settings)
        from gradio_client import Client

        client = Client(url, verbose=False, analytics_enabled=False, download_files=downloads)
        try:
            started = time.perf_counter()
            for i in range(baseline):
                one_client(client, i, scene_every)
            warm_rss = settled_rss_mb()
            warm_sessions = sessions_held(demo)
            for i in range(baseline, clients):
                one_client(client, i, scene_every)
            seconds = time.perf_counter() - started
            end_rss = settled_rss_mb()
            end_sessions = sessions_held(demo)
            time.sleep(wait)  # give expiry a chance: what is still held once the clients are gone
            after_wait_rss = settled_rss_mb()
            after_wait_sessions = sessions_held(demo)
        finally:
            client.close()
            with contextlib.redirect_stdout(sys.stderr):  # gradio says "Closing server": stdout is for the JSON
                demo.close()
            if previous_cache is None:
                os.environ.pop("GRADIO_TEMP_DIR")
            else:
                os.environ["GRADIO_TEMP_DIR"] = previous_cache
    measured = clients - baseline
    return {
        "benchmark": "session_memory",
        "clients": clients,
        "baseline_clients": baseline,
        "session_ttl_seconds": settings.session_ttl_seconds,
        "scene_every": scene_every,
        "seconds": round(seconds, 1),
        "rss_mb_before_launch": round(start_rss, 1),
        "rss_mb_after_baseline": round(warm_rss, 1),
        "rss_mb_after_all": round(end_rss, 1),
        f"rss_mb_after_{wait:g}s_idle": round(after_wait_rss, 1),
        "mb_per_client": round((end_rss - warm_rss) / max(measured, 1), 3),
        "mb_per_client_after_idle": round((after_wait_rss - warm_rss) / max(measured, 1), 3),
        "sessions_held_after_baseline": warm_sessions,
        "sessions_held_after_all": end_sessions,
        "sessions_held_after_idle": after_wait_sessions,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="server memory kept per API client")
    parser.add_argument("--clients", type=int, default=500, help="fresh clients in all, baseline included")
    parser.add_argument("--baseline", type=int, default=20, help="first clients: warm-up and baseline RSS")
    parser.add_argument("--session-ttl", type=float, default=None, help="seconds an idle session is kept")
    parser.add_argument("--wait", type=float, default=0.0, help="idle seconds before the last measurement")
    parser.add_argument("--scene-every", type=int, default=1, help="every N-th client also calls /classify_scene")
    args = parser.parse_args(argv)
    if not 0 < args.baseline < args.clients:
        parser.error("need 0 < --baseline < --clients")
    return run(args.clients, args.baseline, args.session_ttl, args.wait, args.scene_every)


if __name__ == "__main__":
    print(json.dumps(main()))
