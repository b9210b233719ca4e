"""The app, launched in-process once per session on a free port, and uploads to send it.

Helpers are handed out as fixtures because tests are imported with --import-mode=importlib.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mmdemo.config import Settings
from mmdemo.media.ffmpeg import ffmpeg_exe
from mmdemo.media.subtitles import Caption, to_srt

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; .ci/run installs it (playwright install does not work here)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def srt_text(lines: list[str], step: float = 4.0) -> str:
    return to_srt([Caption(step * i, step * (i + 1) - 0.2, text) for i, text in enumerate(lines)])


@pytest.fixture(scope="session")
def app_url() -> str:
    from mmdemo.ui import build_app, launch_options

    settings = Settings()
    demo = build_app(settings)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options(settings))
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="session")
def make_upload(tmp_path_factory) -> Callable[[str, list[str]], tuple[Path, Path]]:
    """make_upload(name, lines) -> (clip, srt): testsrc2 + tone, 4 s per subtitle line."""

    def make(name: str, lines: list[str]) -> tuple[Path, Path]:
        folder = tmp_path_factory.mktemp(name)
        subs = folder / f"{name}.srt"
        subs.write_text(srt_text(lines), encoding="utf-8")
        clip = folder / f"{name}.mp4"
        seconds = 4.0 * len(lines)
        subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
             "-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=10:duration={seconds}",
             "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip)],
            check=True, timeout=120,
        )
        return clip, subs

    return make


@pytest.fixture(scope="module")
def page(app_url):
    """One browser tab on the app, shared by the tests of a module (they run in order)."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(app_url, wait_until="domcontentloaded")
        yield page
        browser.close()
