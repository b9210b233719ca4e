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


def read_squad(path: str | Path) -> list[SquadExample]:
    """Every question of a SQuAD v1.1 or v2.0 file; InputError saying where a file is malformed."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"cannot read SQuAD JSON from {path}: {error}") from None
    articles = _field(data, "data", list, f"{path}")
    examples: list[SquadExample] = []
    for a, article in enumerate(articles):
        where = f"{path}: data[{a}]"
        paragraphs = _field(article, "paragraphs", list, where)
        title = str(article.get("title", ""))
        for p, paragraph in enumerate(paragraphs):
            context = _field(paragraph, "context", str, f"{where}.paragraphs[{p}]")
            for q, qa in enumerate(_field(paragraph, "qas", list, f"{where}.paragraphs[{p}]")):
                examples.append(_example(qa, context, title, f"{where}.paragraphs[{p}].qas[{q}]"))
    seen: set[str] = set()
    for example in examples:
        if example.id in seen:
            raise InputError(f"{path}: question id {example.id!r} appears twice")
        seen.add(example.id)
    return examples


def _example(qa: Any, context: str, title: str, where: str) -> SquadExample:
    qid = _field(qa, "id", (str, int), where)
    question = _field(qa, "question", str, where)
    if not question.strip():
        raise InputError(f"{where}: the question is empty")
    impossible = qa.get("is_impossible", False)
    if not isinstance(impossible, bool):
        raise InputError(f"{where}: 'is_impossible' must be true or false")
    answers = []
    for n, answer in enumerate(_field(qa, "answers", list, where)):
        text = _field(answer, "text", str, f"{where}.answers[{n}]")
        start = _field(answer, "answer_start", int, f"{where}.answers[{n}]")
        found = context[start : start + len(text)] if start >= 0 else ""
        if not text or found != text:
            raise InputError(f"{where}.answers[{n}]: {text!r} is not at answer_start {start} of its context "
                             f"(the context has {found!r} there)")
        answers.append(Answer(text, start))
    if impossible and answers:
        raise InputError(f"{where}: marked is_impossible but has answers")
    if not impossible and not answers:
        raise InputError(f"{where}: no answers (SQuAD v2.0 marks unanswerable questions with is_impossible)")
    return SquadExample(str(qid), title, question, context, tuple(answers), impossible)


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
