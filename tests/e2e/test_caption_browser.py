"""One person in headless Chromium on the "Captioning" tab: an example clip, its caption, the MELTR panel."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_an_example_clip_is_captioned_and_the_meltr_panel_plots(page, tmp_path):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Captioning").click()
    page.locator("#caption-clip").scroll_into_view_if_needed()
    page.get_by_role("button", name="00-", exact=False).first.click()
    page.locator("#caption-submit").click()
    expect(page.locator("#caption-text")).to_contain_text("From the video only", timeout=180_000)
    # the MELTR panel is open and drawn from the start: no button to press, every loss spelled out
    expect(page.locator("#meltr-panel .js-plotly-plot")).to_have_count(2, timeout=60_000)
    expect(page.locator("#meltr-losses")).to_contain_text("cmfm: conditioned masked frame model")
    expect(page.locator("#meltr-weights")).to_contain_text("epoch")
    page.screenshot(path=str(tmp_path / "caption.png"), full_page=True)
