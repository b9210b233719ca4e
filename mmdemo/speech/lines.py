"""Recognised words grouped into caption lines, the unit the answer locator searches.

A line ends where a sentence ends, at a long pause, or when it would grow past a few seconds
or words; a line cut for length ends at its last comma when it has one, so that lines stay
readable phrases. The lines are the same ``Caption`` objects subtitles files give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mmdemo.media.subtitles import Caption

_SENTENCE_END = (".", "?", "!", "。", "？", "！")
_CLAUSE_END = (",", ";", ":", "，", "、")
_CLOSERS = "\"')]»”’"


@dataclass(frozen=True)
class Word:
    """One recognised word: times in seconds, ``text`` with its punctuation, ``probability`` in [0, 1]."""

    start: float
    end: float
    text: str
    probability: float = 1.0


@dataclass(frozen=True)
class LineConfig:
    # Subtitle conventions (e.g. the BBC and Netflix style guides): at most ~7 s and two short
    # lines of text per caption; a pause of a second or more is a break a listener hears.
    max_seconds: float = 6.0
    max_words: int = 15
    pause_seconds: float = 1.0
    min_words_before_comma: int = 3  # a length cut goes back to a comma only past this many words


def _ends_with(word: Word, marks: tuple[str, ...]) -> bool:
    return word.text.strip().rstrip(_CLOSERS).endswith(marks)


def _caption(words: Sequence[Word]) -> Caption:
    return Caption(round(words[0].start, 3), round(words[-1].end, 3), " ".join(w.text.strip() for w in words))


def group_words(words: Sequence[Word], config: LineConfig = LineConfig()) -> list[Caption]:
    """Caption lines from words in time order (empty words are skipped)."""
    lines: list[Caption] = []
    line: list[Word] = []
    for word in (w for w in words if w.text.strip()):
        if line and (word.start - line[-1].end >= config.pause_seconds
                     or word.end - line[0].start > config.max_seconds or len(line) >= config.max_words):
            cut = _comma_cut(line, config) if word.start - line[-1].end < config.pause_seconds else len(line)
            lines.append(_caption(line[:cut]))
            line = line[cut:]
        line.append(word)
        if _ends_with(word, _SENTENCE_END):
            lines.append(_caption(line))
            line = []
    if line:
        lines.append(_caption(line))
    return lines


def _comma_cut(line: list[Word], config: LineConfig) -> int:
    """Where a line that grew too long ends: after its last comma, else after its last word."""
    for i in range(len(line) - 1, config.min_words_before_comma - 1, -1):
        if _ends_with(line[i - 1], _CLAUSE_END):
            return i
    return len(line)
