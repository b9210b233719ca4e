from __future__ import annotations

from mmdemo.media.subtitles import Caption
from mmdemo.speech.lines import LineConfig, Word, group_words


def words(text: str, start: float = 0.0, step: float = 0.3, pauses: dict[int, float] | None = None) -> list[Word]:
    out, t = [], start
    for i, token in enumerate(text.split()):
        t += (pauses or {}).get(i, 0.0)
        out.append(Word(round(t, 3), round(t + step - 0.05, 3), f" {token}"))
        t += step
    return out


def test_lines_end_at_sentence_ends():
    lines = group_words(words("Hello there. How are you? Fine!"))
    assert [c.text for c in lines] == ["Hello there.", "How are you?", "Fine!"]
    assert lines[0] == Caption(0.0, 0.55, "Hello there.")
    assert lines[1].start == 0.6


def test_a_closing_quote_after_the_full_stop_still_ends_the_sentence():
    assert [c.text for c in group_words(words('He said "stop." Then left.'))] == ['He said "stop."', "Then left."]


def test_long_pause_breaks_a_line():
    lines = group_words(words("one two three four", pauses={2: 1.5}))
    assert [c.text for c in lines] == ["one two", "three four"]


def test_long_sentence_is_cut_by_words_and_seconds_preferring_commas():
    text = "first we sit down, then we reach for the toes and we hold them there for a very long while"
    lines = group_words(words(text), LineConfig(max_words=15, max_seconds=60))
    assert lines[0].text == "first we sit down,"
    assert all(len(c.text.split()) <= 15 for c in lines)
    assert " ".join(c.text for c in lines) == text
    timed = group_words(words("a b c d e f g h i j", step=1.0), LineConfig(max_seconds=3.0))
    assert all(c.end - c.start <= 3.0 for c in timed)
    assert " ".join(c.text for c in timed) == "a b c d e f g h i j"


def test_empty_words_are_skipped_and_no_words_give_no_lines():
    assert group_words([]) == []
    assert group_words([Word(0, 1, " "), Word(1, 2, " ok.")]) == [Caption(1, 2, "ok.")]
