"""Reading examples from subtitled videos: the answer is the caption text inside the gold span."""

from __future__ import annotations

from mmdemo.data.squad import load_squad
from mmdemo.media.subtitles import Caption
from training.data.medvidqa_spans import held_out_videos, medvidqa_examples, span_example, write_dataset
from training.data.synthetic_qa import generate, write_medvidqa_layout
from training.tasks.ccgs import CCGSTask, CCGSTaskConfig, read_split

CAPTIONS = [Caption(0.0, 4.0, "welcome back"), Caption(4.0, 9.0, "tuck your chin"), Caption(9.0, 15.0, "hold five seconds"),
            Caption(15.0, 20.0, "thanks for watching")]


def test_answer_is_the_caption_text_overlapping_the_gold_span():
    example = span_example("q1", "How do I do a chin tuck?", "vid", CAPTIONS, 5.0, 12.0)
    assert example.context == "welcome back tuck your chin hold five seconds thanks for watching"
    (answer,) = example.answers
    assert answer.text == "tuck your chin hold five seconds"
    assert example.context[answer.start : answer.start + len(answer.text)] == answer.text
    assert example.title == "vid" and not example.is_impossible
    # an answer in a silent stretch falls back to the nearest caption, as CCGS's targets do
    assert span_example("q2", "?", "vid", CAPTIONS, 20.5, 22.0).answers[0].text == "thanks for watching"


def test_medvidqa_layout_gives_one_example_per_subtitled_question(tmp_path):
    videos, questions = generate(3, seed=4, prefix="t")
    write_medvidqa_layout(tmp_path, videos, questions, "train")
    examples = medvidqa_examples(tmp_path, "train")
    assert len(examples) == len(questions)
    for example, question in zip(examples, questions):
        assert example.question == question.question and example.title == question.video_id


def test_held_out_videos_are_the_ones_the_ccgs_task_holds_out(tmp_path):
    videos, questions = generate(12, seed=2, prefix="v")
    write_medvidqa_layout(tmp_path, videos, questions, "train")
    records, corpus = read_split(tmp_path, "train")
    _, (_, ccgs_val) = CCGSTask(CCGSTaskConfig())._hold_out_videos(records, corpus)
    assert held_out_videos([q.video_id for q in questions], 0.2, 0) == {v.video_id for v in ccgs_val}


def test_dataset_files_keep_held_out_videos_out_of_train(tmp_path):
    videos, questions = generate(10, seed=3, prefix="real")
    write_medvidqa_layout(tmp_path / "medvidqa", videos, questions, "train")
    counts = write_dataset(tmp_path / "out", tmp_path / "medvidqa", synthetic=2, synthetic_val=1)
    train, val = load_squad(tmp_path / "out" / "train.json").examples, load_squad(tmp_path / "out" / "val.json").examples
    assert counts == {"train.json": len(train), "val.json": len(val),
                      "val_synthetic.json": len(load_squad(tmp_path / "out" / "val_synthetic.json").examples)}
    assert val and not {e.title for e in val} & {e.title for e in train}
    assert any(e.title.startswith("synthetic") for e in train)
    assert len(train) + len(val) == len(questions) + sum(e.title.startswith("synthetic") for e in train)
