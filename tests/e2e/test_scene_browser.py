"""One person in headless Chromium on the "Scene" tab: picks an example clip and sees the verdict."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_an_example_clip_gets_a_scene_a_chart_and_frames(page, tmp_path):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Scene").click()
    examples = page.get_by_role("button", name="airport-synthetic", exact=False)
    examples.first.click()
    page.locator("#scene-submit").click()
    verdict = page.locator("#scene-verdict")
    expect(verdict).to_contain_text("Decided by", timeout=180_000)
    expect(page.locator("#scene-frames img")).not_to_have_count(0, timeout=30_000)
    page.screenshot(path=str(tmp_path / "scene.png"), full_page=True)
