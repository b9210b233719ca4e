"""The answer-in-context view: span bar position, answer lines marked, uploaded text kept inert."""

import re

from mmdemo.media.subtitles import Caption
from mmdemo.ui.answer_player import clock, context_html

CAPTIONS = [Caption(0.0, 4.0, "Sit up straight."), Caption(4.0, 8.0, "Tuck your chin in."),
            Caption(8.0, 12.0, "Hold for five seconds."), Caption(12.0, 16.0, "Relax.")]


def cues(page: str) -> list[tuple[str, float, float, str]]:
    return [(cls, float(s), float(e), text) for cls, s, e, text in
            re.findall(r'class="cue([^"]*)" data-start="([\d.]+)" data-end="([\d.]+)"><time>[^<]*</time>([^<]*)<', page)]


def test_the_answer_lines_are_marked_and_every_line_seeks_to_its_start():
    page = context_html(CAPTIONS, start=4.0, end=12.0, duration=20.0)
    found = cues(page)
    assert [text for *_, text in found] == [c.text for c in CAPTIONS]  # the whole transcript, in order
    assert [cls.strip() == "in-answer" for cls, *_ in found] == [False, True, True, False]
    assert [(s, e) for _, s, e, _ in found] == [(c.start, c.end) for c in CAPTIONS]


def test_the_span_bar_sits_where_the_answer_is_in_the_whole_video():
    page = context_html(CAPTIONS, start=5.0, end=10.0, duration=20.0)
    left, width = map(float, re.search(r'class="span" style="left:([\d.]+)%;width:([\d.]+)%"', page).groups())
    assert (left, width) == (25.0, 25.0)
    assert 'data-start="5.000"' in page and 'data-duration="20.000"' in page
    assert "answer 0:05.0 – 0:10.0" in page


def test_a_cut_clip_carries_its_offset_and_each_answer_a_fresh_key():
    first, second = (context_html(CAPTIONS, 4.0, 8.0, 20.0, offset=3.5) for _ in range(2))
    assert 'data-offset="3.500"' in first
    key = re.compile(r'data-key="(\w+)"')
    assert key.search(first).group(1) != key.search(second).group(1)  # the same answer chosen again still seeks


def test_subtitle_text_is_shown_as_text_never_as_markup():
    hostile = [Caption(0.0, 2.0, '<img src=x onerror="alert(1)"> & <script>steal()</script>')]
    page = context_html(hostile, 0.0, 2.0, 2.0)
    assert "<img" not in page and "<script" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &lt;script&gt;" in page


def test_nothing_to_show_without_captions_or_a_duration():
    assert context_html([], 0.0, 1.0, None) == ""


def test_clock_reads_minutes_and_tenths():
    assert clock(0) == "0:00.0" and clock(75.25) == "1:15.2" and clock(-3) == "0:00.0"
