import json

import pytest

from mmdemo.data.medvidqa import load_medvidqa_corpus, load_off_topic, load_questions
from mmdemo.errors import InputError


def test_load_medvidqa_corpus(tmp_path):
    rows = [{"start": 0.0, "duration": 3.0, "text": "hello"}, {"start": 2.0, "duration": 3.0, "text": "world"}]
    (tmp_path / "vidA.json").write_text(json.dumps(rows))
    (tmp_path / "empty.json").write_text("[]")
    videos = load_medvidqa_corpus([tmp_path])
    assert [v.video_id for v in videos] == ["vidA"]
    caps = videos[0].captions
    assert caps[0].end <= caps[1].start  # overlapping YouTube lines become disjoint
    assert videos[0].duration == pytest.approx(5.0)


def test_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError):
        load_medvidqa_corpus([tmp_path / "nope"])
    with pytest.raises(InputError):
        load_medvidqa_corpus([tmp_path])  # no caption files


def test_questions_are_the_records_of_a_json_list(tmp_path):
    records = [{"sample_id": 1, "question": "how to tie a splint?", "video_id": "vidA",
                "answer_start_second": 3, "answer_end_second": 9}]
    path = tmp_path / "train.json"
    path.write_text(json.dumps(records))
    assert load_questions(path) == records
    path.write_text(json.dumps({"questions": records}))
    with pytest.raises(InputError, match="JSON list"):
        load_questions(path)
    with pytest.raises(InputError, match="cannot read questions"):
        load_questions(tmp_path / "missing.json")


def test_off_topic_questions_are_every_list_by_kind(tmp_path):
    path = tmp_path / "off_topic.json"
    path.write_text(json.dumps({"sport": ["who won?", "what score?"], "note": "not a list", "cooking": ["how long?"]}))
    assert load_off_topic(path) == ["who won?", "what score?", "how long?"]
    path.write_text("{")
    with pytest.raises(InputError, match="cannot read off-topic"):
        load_off_topic(path)
