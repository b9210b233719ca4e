"""One person in headless Chromium on the "Audio search" tab: describes a sound, hears matches."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_describing_a_sound_plays_the_best_match(page, tmp_path):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Audio search").click()
    page.locator("#audio-query textarea").fill("slow high beeps")
    page.locator("#audio-submit").click()
    expect(page.locator("#audio-playing")).to_contain_text("Playing #1", timeout=180_000)
    expect(page.locator("#audio-playing")).to_contain_text("beeps")
    expect(page.locator("#audio-hits")).to_contain_text("beeps")
    expect(page.locator(".js-plotly-plot")).not_to_have_count(0)
    page.screenshot(path=str(tmp_path / "audio.png"), full_page=True)


def test_clicking_a_row_plays_that_clip(page):
    from playwright.sync_api import expect

    page.locator('#audio-hits [data-testid="cell-2-1"]').click()
    expect(page.locator("#audio-playing")).to_contain_text("Playing #3", timeout=60_000)
