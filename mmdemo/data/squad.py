"""SQuAD v1.1 / v2.0 JSON: read (checked) and write.

The layout (Rajpurkar et al.; the paper's section 3.2.1)::

    {"version": "v1.1",
     "data": [{"title": "...",
               "paragraphs": [{"context": "...",
                               "qas": [{"id": "...", "question": "...",
                                        "answers": [{"text": "...", "answer_start": 17}],
                                        "is_impossible": false}]}]}]}

``is_impossible`` (v2.0 only) marks a question the context does not answer; its ``answers``
are empty. Every answer must sit at its ``answer_start`` in the context: a file where it does
not is refused, because a reader trained on shifted offsets learns the wrong spans silently.

Some real files have such offsets: COVID-QA (Moeller et al., 2020) has about 230 answers whose
``answer_start`` is off by a few characters. ``load_squad(path, max_shift=N)`` repairs an answer
to the occurrence of its text nearest ``answer_start`` within N characters, and drops (and
names) a question with an answer it cannot place; ``SquadFile`` says how many of each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from mmdemo.errors import InputError


@dataclass(frozen=True)
class Answer:
    text: str
    start: int  # character offset into the context


@dataclass(frozen=True)
class SquadExample:
    id: str
    title: str
    question: str
    context: str
    answers: tuple[Answer, ...]  # empty when is_impossible
    is_impossible: bool = False


@dataclass(frozen=True)
class SquadFile:
    """What ``load_squad`` kept, and what it had to change to keep it."""

    examples: list[SquadExample]
    repaired: tuple[str, ...] = ()  # ids of questions with an answer moved to its text
    dropped: tuple[str, ...] = ()  # ids of questions left out: an answer's text is not near answer_start

    def summary(self) -> str:
        """One line for a log: questions kept, answers repaired, questions dropped."""
        named = f" ({', '.join(self.dropped[:5])}{', ...' if len(self.dropped) > 5 else ''})" if self.dropped else ""
        return f"{len(self.examples)} questions, {len(self.repaired)} answer_start repaired, {len(self.dropped)} dropped{named}"


def load_squad(path: str | Path, max_shift: int = 0) -> SquadFile:
    """Every question of a SQuAD v1.1 or v2.0 file, with what was repaired or dropped; InputError
    saying where a file is malformed.

    ``max_shift`` 0 refuses an answer that is not at its ``answer_start``; N > 0 moves it to the
    nearest occurrence of its text within N characters, or drops its question when there is none.
    """
    if max_shift < 0:
        raise ValueError(f"max_shift must be 0 (strict) or more characters, not {max_shift}")
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"cannot read SQuAD JSON from {path}: {error}") from None
    articles = _field(data, "data", list, f"{path}")
    examples: list[SquadExample] = []
    repaired: list[str] = []
    dropped: list[str] = []
    for a, article in enumerate(articles):
        where = f"{path}: data[{a}]"
        paragraphs = _field(article, "paragraphs", list, where)
        title = str(article.get("title", ""))
        for p, paragraph in enumerate(paragraphs):
            context = _field(paragraph, "context", str, f"{where}.paragraphs[{p}]")
            for q, qa in enumerate(_field(paragraph, "qas", list, f"{where}.paragraphs[{p}]")):
                example, moved = _example(qa, context, title, f"{where}.paragraphs[{p}].qas[{q}]", max_shift)
                if example.answers or example.is_impossible:
                    examples.append(example)
                    if moved:
                        repaired.append(example.id)
                else:
                    dropped.append(example.id)
    seen: set[str] = set()
    for qid in [e.id for e in examples] + dropped:
        if qid in seen:
            raise InputError(f"{path}: question id {qid!r} appears twice")
        seen.add(qid)
    if dropped and not examples:
        raise InputError(f"{path}: no answer of any question is within {max_shift} characters of its answer_start")
    return SquadFile(examples, tuple(repaired), tuple(dropped))


def _example(qa: Any, context: str, title: str, where: str, max_shift: int) -> tuple[SquadExample, bool]:
    """The question, and whether an answer was moved; with an unplaceable answer (when repairing)
    the question comes back without answers, for the caller to drop."""
    qid = _field(qa, "id", (str, int), where)
    question = _field(qa, "question", str, where)
    if not question.strip():
        raise InputError(f"{where}: the question is empty")
    impossible = qa.get("is_impossible", False)
    if not isinstance(impossible, bool):
        raise InputError(f"{where}: 'is_impossible' must be true or false")
    answers, moved = [], False
    records = _field(qa, "answers", list, where)
    for n, answer in enumerate(records):
        text = _field(answer, "text", str, f"{where}.answers[{n}]")
        start = _field(answer, "answer_start", int, f"{where}.answers[{n}]")
        if not text.strip():
            raise InputError(f"{where}.answers[{n}]: the answer text is empty")
        found = context[start : start + len(text)] if start >= 0 else ""
        if found != text and max_shift:
            start = nearest_occurrence(context, text, start, max_shift)
            if start is None:
                return SquadExample(str(qid), title, question, context, ()), False
            moved = True
        elif found != text:
            raise InputError(f"{where}.answers[{n}]: {text!r} is not at answer_start {start} of its context "
                             f"(the context has {found!r} there; load_squad(..., max_shift=N) repairs small shifts)")
        answers.append(Answer(text, start))
    if impossible and answers:
        raise InputError(f"{where}: marked is_impossible but has answers")
    if not impossible and not records:
        raise InputError(f"{where}: no answers (SQuAD v2.0 marks unanswerable questions with is_impossible)")
    return SquadExample(str(qid), title, question, context, tuple(answers), impossible), moved


def nearest_occurrence(context: str, text: str, start: int, max_shift: int) -> int | None:
    """Where ``text`` occurs in ``context`` nearest ``start``, at most ``max_shift`` characters away; None if nowhere."""
    lo = max(0, start - max_shift)
    window = context[lo : max(start, 0) + max_shift + len(text)]
    hits, at = [], window.find(text)
    while at >= 0:
        hits.append(lo + at)
        at = window.find(text, at + 1)
    return min(hits, key=lambda hit: (abs(hit - start), hit)) if hits else None


_JSON_NAMES = {str: "a string", int: "an integer", list: "a list"}


def _field(record: Any, name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object")
    if name not in record:
        raise InputError(f"{where}: missing '{name}'")
    value = record[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        names = " or ".join(_JSON_NAMES[k] for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise InputError(f"{where}: '{name}' must be {names}, not {json.dumps(value)[:40]}")
    return value


def write_squad(path: str | Path, examples: Sequence[SquadExample]) -> None:
    """SQuAD JSON: one article per title, one paragraph per distinct context; v2.0 when any
    question is impossible, v1.1 otherwise."""
    v2 = any(e.is_impossible for e in examples)
    articles: dict[str, dict[str, list[dict]]] = {}
    for e in examples:
        qa = {"id": e.id, "question": e.question,
              "answers": [{"text": a.text, "answer_start": a.start} for a in e.answers]}
        if v2:
            qa["is_impossible"] = e.is_impossible
        articles.setdefault(e.title, {}).setdefault(e.context, []).append(qa)
    data = [{"title": title, "paragraphs": [{"context": c, "qas": qas} for c, qas in paragraphs.items()]}
            for title, paragraphs in articles.items()]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({"version": "v2.0" if v2 else "v1.1", "data": data}, ensure_ascii=False),
                          encoding="utf-8")
