import json

from training.data.synthetic_qa import BODY_PARTS, generate, write_medvidqa_layout


def test_answers_are_exactly_the_procedure_captions():
    videos, questions = generate(20, seed=3)
    by_id = {video.video_id: video for video in videos}
    assert len(questions) >= 40  # two to four procedures per video
    for question in questions:
        captions = by_id[question.video_id].captions
        inside = [c for c in captions if c.start >= question.answer_start and c.end <= question.answer_end]
        assert len(inside) >= 3
        assert inside[0].start == question.answer_start and inside[-1].end == question.answer_end
        part = next(p for p in BODY_PARTS if question.question.rstrip("?").endswith(p) or f" {p} " in question.question)
        span_text = " ".join(c.text for c in inside)
        assert any(name in span_text for name in BODY_PARTS[part])


def test_captions_are_ordered_and_disjoint():
    videos, _ = generate(10, seed=1)
    for video in videos:
        for first, second in zip(video.captions, video.captions[1:]):
            assert first.start < first.end <= second.start


def test_generation_is_deterministic_and_seed_dependent():
    assert generate(5, seed=7) == generate(5, seed=7)
    assert generate(5, seed=7)[1] != generate(5, seed=8)[1]


def test_writes_the_medvidqa_layout(tmp_path):
    videos, questions = generate(3, seed=0, prefix="t")
    write_medvidqa_layout(tmp_path, videos, questions, "train")
    records = json.loads((tmp_path / "questions" / "train.json").read_text())
    assert len(records) == len(questions)
    lines = json.loads((tmp_path / "subtitles" / "train" / f"{videos[0].video_id}.json").read_text())
    assert set(lines[0]) == {"start", "duration", "text"}
