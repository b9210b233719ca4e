"""One person in headless Chromium: types a question, clicks, sees the answer's time span."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow


def test_question_in_the_browser_shows_the_answer_span(page, tmp_path):
    from playwright.sync_api import expect

    page.locator("#qa-question textarea").fill("How do I do a chin tuck for neck pain?")
    page.locator("#qa-submit").click()
    answer = page.locator("#qa-answer")
    expect(answer).to_contain_text("Answer:", timeout=180_000)
    assert re.search(r"\d+:\d\d\.\d – \d+:\d\d\.\d", answer.inner_text())
    expect(answer).to_contain_text("Chin tuck exercise for neck pain")
    expect(page.locator("#qa-clip video")).to_have_count(1, timeout=30_000)
    expect(page.locator("#qa-playing")).to_contain_text("Playing answer #1")
    page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)


def test_playing_another_answer_from_the_list(page):
    """Runs after the question above (same page): pick answer 2 and press play, then click row 3."""
    from playwright.sync_api import expect

    page.locator("#qa-choice input").click()
    page.get_by_role("option").nth(1).click()
    page.locator("#qa-play").click()
    expect(page.locator("#qa-playing")).to_contain_text("Playing answer #2", timeout=60_000)
    expect(page.locator("#qa-clip video")).to_have_count(1, timeout=30_000)
    page.locator('#qa-table [data-testid="cell-2-1"]').click()  # clicking a row of the table plays it too
    expect(page.locator("#qa-playing")).to_contain_text("Playing answer #3", timeout=60_000)


def test_the_page_says_which_models_and_data_it_uses(page):
    from playwright.sync_api import expect

    expect(page.locator("#models-status")).to_contain_text("all-MiniLM-L6-v2")
    expect(page.locator("#models-status")).to_contain_text("bundled demo videos")
