"""One person in headless Chromium: types a question, clicks, sees the answer's time span."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow


def test_the_first_answer_after_start_loads_no_model(page, monkeypatch):
    """Warm-up loads every tab's models after start; once the page says so, a question loads nothing."""
    from playwright.sync_api import expect

    from mmdemo.models.encoders import TextEncoder
    from mmdemo.retrieval.corpus_index import CorpusIndex

    expect(page.locator("#warmup-status")).to_contain_text("Models ready", timeout=300_000)
    expect(page.locator("#warmup-status")).to_contain_text("Medical video QA")
    loads = []
    for cls, name in ((TextEncoder, "from_config"), (CorpusIndex, "build")):
        original = getattr(cls, name)
        monkeypatch.setattr(cls, name, classmethod(lambda c, *a, _o=original, _n=name, **k: loads.append(_n) or _o(*a, **k)))
    page.locator("#qa-question textarea").fill("How do I remove a tick?")
    page.locator("#qa-submit").click()
    expect(page.locator("#qa-answer")).to_contain_text("Answer:", timeout=60_000)
    assert loads == []


def test_an_error_leaves_one_readable_message(page, tmp_path):
    from playwright.sync_api import expect

    page.locator("#qa-question textarea").fill("?")
    page.locator("#qa-submit").click()
    answer = page.locator("#qa-answer")
    expect(answer).to_contain_text("Please check your input", timeout=60_000)
    expect(answer).to_contain_text("The question is too short")
    page.wait_for_timeout(500)
    assert page.get_by_text("Error", exact=True).count() == 0  # no red badge on every output
    shot = tmp_path / "qa-error.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")


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
    # the whole video, moved to the answer's start; the span marked on the bar under it
    context = page.locator("#qa-context .answer-context")
    start = float(context.get_attribute("data-start"))
    assert float(context.get_attribute("data-offset")) == 0.0 and start > 0
    assert player_duration(page) > float(context.get_attribute("data-end")) - start + 5  # not a clip of the answer
    page.wait_for_function(f"() => document.querySelector('#qa-clip video').currentTime >= {start - 0.3}", timeout=30_000)
    assert context.locator(".cue.in-answer").count() >= 1
    page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'answer.png'}")


def player_duration(page) -> float:
    page.wait_for_function("() => document.querySelector('#qa-clip video').readyState >= 1", timeout=30_000)
    return page.locator("#qa-clip video").evaluate("video => video.duration")


def player_time(page) -> float:
    return page.locator("#qa-clip video").evaluate("video => video.currentTime")


def test_clicking_a_transcript_line_jumps_there(page, tmp_path):
    """Runs after the question above (same page): a line after the answer moves the player on to it."""
    last = page.locator("#qa-context .cue").last
    line_start = float(last.get_attribute("data-start"))
    answer_end = float(page.locator("#qa-context .answer-context").get_attribute("data-end"))
    assert line_start >= answer_end and "in-answer" not in last.get_attribute("class")
    last.click()
    page.wait_for_function(f"() => Math.abs(document.querySelector('#qa-clip video').currentTime - {line_start}) < 1.5",
                           timeout=10_000)
    page.wait_for_function("() => document.querySelector('#qa-context .cue.playing') !== null", timeout=10_000)
    page.screenshot(path=str(tmp_path / "jumped.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'jumped.png'}")


def test_playing_another_answer_updates_everything(page, tmp_path):
    """Runs after the question above (same page): pick answer 2 and press play, then click row 3; the answer
    line, the player, the span bar, the transcript and the plot all follow."""
    from playwright.sync_api import expect

    for number, pick in ((2, lambda: pick_from_list(page, 1)), (3, lambda: page.locator('#qa-table [data-testid="cell-2-1"]').click())):
        title = page.locator(f'#qa-table [data-testid="cell-{number - 1}-1"]').inner_text().strip()
        start_text = page.locator(f'#qa-table [data-testid="cell-{number - 1}-2"]').inner_text().strip()
        pick()
        expect(page.locator("#qa-playing")).to_contain_text(f"Playing answer #{number}", timeout=60_000)
        answer = page.locator("#qa-answer")
        expect(answer).to_contain_text(f"(answer #{number})")
        expect(answer).to_contain_text(title)
        expect(answer).to_contain_text(start_text)
        context = page.locator("#qa-context .answer-context")
        assert fmt(float(context.get_attribute("data-start"))) == start_text
        expect(page.locator("#qa-timeline")).to_contain_text(title)  # the plot's title names the answer's video
        page.wait_for_function("() => document.querySelector('#qa-clip video').readyState >= 1", timeout=30_000)
        page.wait_for_function(f"() => document.querySelector('#qa-clip video').currentTime >= "
                               f"{float(context.get_attribute('data-start')) - float(context.get_attribute('data-offset')) - 0.3}",
                               timeout=30_000)
    page.screenshot(path=str(tmp_path / "another-answer.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'another-answer.png'}")


def pick_from_list(page, index: int) -> None:
    page.locator("#qa-choice input").click()
    page.get_by_role("option").nth(index).click()
    page.locator("#qa-play").click()


def fmt(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"


def test_the_page_says_which_models_and_data_it_uses(page):
    from playwright.sync_api import expect

    expect(page.locator("#models-status")).to_contain_text("all-MiniLM-L6-v2")
    expect(page.locator("#models-status")).to_contain_text("bundled demo videos")


def test_every_tab_after_its_main_action(page, tmp_path):
    """Screenshots for a person to look at (paths printed); the warm-up loaded these tabs' models too."""
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Audio search").click()
    page.locator("#audio-query textarea").fill("a dog barking")
    page.locator("#audio-submit").click()
    expect(page.locator("#audio-playing")).to_contain_text("Playing #1", timeout=60_000)
    page.screenshot(path=str(tmp_path / "audio.png"), full_page=True)
    page.get_by_role("tab", name="Scene").click()
    page.get_by_role("button", name="park-synthetic", exact=False).first.click()
    page.locator("#scene-submit").click()
    expect(page.locator("#scene-verdict")).to_contain_text("Decided by", timeout=60_000)
    page.screenshot(path=str(tmp_path / "scene.png"), full_page=True)
    page.get_by_role("tab", name="Captioning").click()
    page.get_by_role("button", name="00-", exact=False).first.click()
    page.locator("#caption-submit").click()
    expect(page.locator("#caption-text")).to_contain_text("From the", timeout=60_000)
    page.screenshot(path=str(tmp_path / "caption.png"), full_page=True)
    for name in ("audio", "scene", "caption"):
        print(f"screenshot: {tmp_path / name}.png")
