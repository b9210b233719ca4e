"""SQuAD v1.1 / v2.0 JSON on tiny files: what is read, what is refused and why, offsets repaired
as COVID-QA needs (and what cannot be repaired counted), and the round trip."""

from __future__ import annotations

import json

import pytest

from mmdemo.data.squad import Answer, SquadExample, load_squad, nearest_occurrence, write_squad
from mmdemo.errors import InputError

CONTEXT = "Press the chest five centimetres deep, a hundred times a minute."


def squad(qas, version="v1.1", context=CONTEXT):
    return {"version": version, "data": [{"title": "CPR", "paragraphs": [{"context": context, "qas": qas}]}]}


def write(tmp_path, data, name="squad.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_v11_file(tmp_path):
    path = write(tmp_path, squad([
        {"id": "q1", "question": "How deep?", "answers": [{"text": "five centimetres", "answer_start": 16},
                                                          {"text": "five centimetres deep", "answer_start": 16}]},
        {"id": "q2", "question": "How often?", "answers": [{"text": "a hundred times a minute", "answer_start": 39}]},
    ]))
    examples = load_squad(path).examples
    assert [e.id for e in examples] == ["q1", "q2"]
    assert examples[0] == SquadExample("q1", "CPR", "How deep?", CONTEXT,
                                       (Answer("five centimetres", 16), Answer("five centimetres deep", 16)))
    assert not examples[1].is_impossible


def test_v20_unanswerable_question(tmp_path):
    path = write(tmp_path, squad([{"id": "q1", "question": "Who invented it?", "answers": [], "is_impossible": True,
                                   "plausible_answers": [{"text": "Press", "answer_start": 0}]}], version="v2.0"))
    (example,) = load_squad(path).examples
    assert example.is_impossible and example.answers == ()


@pytest.mark.parametrize("data, message", [
    ("{not json", "cannot read SQuAD JSON"),
    ({"version": "v1.1"}, "missing 'data'"),
    ({"data": {"title": "x"}}, "'data' must be a list, not {"),
    ({"data": [{"title": "x"}]}, r"data\[0\]: missing 'paragraphs'"),
    (squad([{"id": "q1", "question": "How deep?", "answers": [{"text": "five centimetres", "answer_start": 15}]}]),
     r"'five centimetres' is not at answer_start 15 of its context \(the context has ' five centimetre' there; "
     r"load_squad\(\.\.\., max_shift=N\) repairs"),
    (squad([{"id": "q1", "question": "How deep?", "answers": [{"text": "five", "answer_start": "16"}]}]),
     "'answer_start' must be an integer, not \"16\""),
    (squad([{"id": "q1", "question": "  ", "answers": [{"text": "five", "answer_start": 16}]}]), "the question is empty"),
    (squad([{"id": "q1", "question": "How deep?", "answers": []}]), "no answers"),
    (squad([{"id": "q1", "question": "Who?", "answers": [{"text": "Press", "answer_start": 0}], "is_impossible": True}]),
     "is_impossible but has answers"),
    (squad([{"id": "q1", "question": "How deep?", "answers": [{"text": "five", "answer_start": 16}]}] * 2), "appears twice"),
])
def test_malformed_files_are_refused_saying_where(tmp_path, data, message):
    with pytest.raises(InputError, match=message):
        load_squad(write(tmp_path, data))


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        load_squad(tmp_path / "absent.json")


def test_write_then_read_is_the_same_examples(tmp_path):
    examples = [
        SquadExample("a", "CPR", "How deep?", CONTEXT, (Answer("five centimetres", 16),)),
        SquadExample("b", "CPR", "How often?", CONTEXT, (Answer("a hundred times a minute", 39),)),
        SquadExample("c", "Burns", "What first?", "Cool the burn.", (Answer("Cool the burn", 0),)),
    ]
    write_squad(tmp_path / "v1.json", examples)
    data = json.loads((tmp_path / "v1.json").read_text())
    assert data["version"] == "v1.1" and len(data["data"]) == 2
    assert len(data["data"][0]["paragraphs"]) == 1  # one paragraph per distinct context
    assert load_squad(tmp_path / "v1.json").examples == examples
    with_impossible = examples + [SquadExample("d", "Burns", "Who?", "Cool the burn.", (), True)]
    write_squad(tmp_path / "v2.json", with_impossible)
    assert json.loads((tmp_path / "v2.json").read_text())["version"] == "v2.0"
    assert load_squad(tmp_path / "v2.json").examples == with_impossible


# ------------------------------------------------------------------ broken offsets (COVID-QA)


def shifted(*answers):
    """One question per (text, answer_start): as COVID-QA's ~230 broken ones, the start is a little off."""
    return squad([{"id": f"q{i}", "question": "What?", "answers": [{"text": t, "answer_start": s}]}
                  for i, (t, s) in enumerate(answers)])


def test_an_offset_a_few_characters_off_is_repaired_and_counted(tmp_path):
    # "five centimetres" is at 16; COVID-QA's offsets are off by -1 to +3
    path = write(tmp_path, shifted(("five centimetres", 15), ("five centimetres", 19), ("Press", 0)))
    read = load_squad(path, max_shift=10)
    assert [e.answers for e in read.examples] == [(Answer("five centimetres", 16),)] * 2 + [(Answer("Press", 0),)]
    assert read.repaired == ("q0", "q1") and read.dropped == ()
    assert read.summary() == "3 questions, 2 answer_start repaired, 0 dropped"


def test_an_answer_not_near_its_offset_drops_its_question_by_name(tmp_path):
    # "a minute" is at 55, too far from 0; "deep" is at 33, far from 200; "not in it" is nowhere
    path = write(tmp_path, shifted(("a minute", 0), ("five centimetres", 17), ("deep", 200), ("not in it", 3)))
    read = load_squad(path, max_shift=10)
    assert [e.id for e in read.examples] == ["q1"] and read.repaired == ("q1",)
    assert read.dropped == ("q0", "q2", "q3")
    assert read.summary() == "1 questions, 1 answer_start repaired, 3 dropped (q0, q2, q3)"


def test_the_nearest_occurrence_wins():
    text = "tap, tap, tap"
    assert nearest_occurrence(text, "tap", 4, 10) == 5
    assert nearest_occurrence(text, "tap", 9, 10) == 10
    assert nearest_occurrence(text, "tap", 13, 2) is None  # the last "tap" starts 3 characters away
    assert nearest_occurrence(text, "press", 0, 100) is None


def test_repairing_never_hides_other_defects(tmp_path):
    with pytest.raises(ValueError, match="max_shift must be 0"):
        load_squad(write(tmp_path, shifted(("Press", 0))), max_shift=-1)
    with pytest.raises(InputError, match="the answer text is empty"):
        load_squad(write(tmp_path, shifted(("  ", 0))), max_shift=10)
    with pytest.raises(InputError, match="no answer of any question is within 10 characters"):
        load_squad(write(tmp_path, shifted(("a minute", 0))), max_shift=10)
    with pytest.raises(InputError, match="not at answer_start"):  # strict by default
        load_squad(write(tmp_path, shifted(("five centimetres", 15))))
