"""One person in headless Chromium on the "Scene" tab: picks an example clip and sees the verdict,
then ticks "Show segmentation" and sees the frames coloured by class."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_an_example_clip_gets_a_scene_a_chart_and_frames(page, tmp_path):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Scene").click()
    examples = page.get_by_role("button", name="airport-synthetic", exact=False)
    examples.first.click()
    expect(page.locator("#scene-clip video")).to_be_visible(timeout=30_000)  # loaded: submitting earlier sends no clip
    page.locator("#scene-submit").click()
    verdict = page.locator("#scene-verdict")
    expect(verdict).to_contain_text("Decided by", timeout=180_000)
    expect(page.locator("#scene-frames img")).not_to_have_count(0, timeout=30_000)
    page.screenshot(path=str(tmp_path / "scene.png"), full_page=True)


def test_show_segmentation_colours_the_frames_by_class(page):
    from playwright.sync_api import expect

    page.reload(wait_until="domcontentloaded")  # a fresh session: nothing classified yet
    page.get_by_role("tab", name="Scene").click()
    page.get_by_role("button", name="park-synthetic", exact=False).first.click()
    expect(page.locator("#scene-clip video")).to_be_visible(timeout=30_000)
    page.locator("#scene-submit").click()
    expect(page.locator("#scene-verdict")).to_contain_text("Decided by", timeout=180_000)
    expect(page.locator("#scene-segmentation")).to_be_hidden()  # off by default
    page.locator("#scene-show-segmentation input[type=checkbox]").check()  # segments the frames just seen
    expect(page.locator("#scene-segmentation img")).not_to_have_count(0, timeout=120_000)
    expect(page.locator("#scene-segmentation")).to_contain_text(" s · ")  # captions: time · largest classes
