import json

import pytest

from mmdemo.evaluate import build_parser, main

KEYS = {"n", "R@1", "R@5", "R@10", "MRR"} | {
    f"Rank@{k} {m}" for k in (1, 10, 100) for m in ("IoU=0.3", "IoU=0.5", "IoU=0.7", "mIoU")
}
TOPICS = {
    "vid_cpr": "place your hands on the center of the chest and push hard and fast",
    "vid_burn": "cool the burn under cold running water then cover it with cling film",
    "vid_knee": "lie on your back and slowly bend your knee to stretch it",
}


@pytest.fixture
def fixture_corpus(tmp_path):
    """Three 50 s videos whose topic is spoken from 10 s to 30 s, and one question per video
    plus one about a video that is not in the corpus (it must be skipped)."""
    subs = tmp_path / "subs"
    subs.mkdir()
    questions = []
    for vid, text in TOPICS.items():
        lines = ["hello and welcome", "today we show you something"] + [text] * 4 + ["thanks for watching"] * 4
        rows = [{"start": 5.0 * i, "duration": 5.0, "text": t} for i, t in enumerate(lines)]
        (subs / f"{vid}.json").write_text(json.dumps(rows))
    asked = {"vid_cpr": "How to push on the chest?", "vid_burn": "How to cool a burn?", "vid_knee": "How to stretch the knee?"}
    for i, (vid, q) in enumerate(asked.items()):
        questions.append(
            {"sample_id": i, "question": q, "answer_start_second": 10, "answer_end_second": 30, "video_length": 50, "video_id": vid}
        )
    questions.append({"sample_id": 9, "question": "How?", "answer_start_second": 0, "answer_end_second": 5, "video_length": 9, "video_id": "absent"})
    qfile = tmp_path / "questions.json"
    qfile.write_text(json.dumps(questions))
    return qfile, subs


def run(capsys, argv):
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # exactly one JSON object on stdout
    return json.loads(out)


def test_bm25_on_fixture_corpus(fixture_corpus, capsys):
    qfile, subs = fixture_corpus
    metrics = run(capsys, ["medvidqa", "--questions", str(qfile), "--subtitles", str(subs), "--method", "bm25"])
    assert KEYS <= set(metrics)
    assert metrics["n"] == 3
    assert metrics["R@1"] == 100.0 and metrics["MRR"] == 100.0
    for key in KEYS - {"n"}:
        assert 0.0 <= metrics[key] <= 100.0
    assert metrics["Rank@1 mIoU"] <= metrics["Rank@10 mIoU"] <= metrics["Rank@100 mIoU"]
    assert metrics["Rank@100 IoU=0.3"] == 100.0


@pytest.mark.slow
def test_hybrid_with_minilm_on_fixture_corpus(fixture_corpus, capsys):
    qfile, subs = fixture_corpus
    metrics = run(capsys, ["medvidqa", "--questions", str(qfile), "--subtitles", str(subs), "--method", "hybrid"])
    assert KEYS <= set(metrics) and metrics["n"] == 3
    assert metrics["R@1"] == 100.0
    assert metrics["Rank@10 IoU=0.3"] > 0.0


def test_errors_are_reported_not_raised(tmp_path, capsys):
    assert main(["medvidqa", "--questions", str(tmp_path / "q.json"), "--subtitles", str(tmp_path), "--method", "bm25"]) == 2
    assert "error:" in capsys.readouterr().err


def test_cli_needs_a_task():
    with pytest.raises(SystemExit):
        build_parser().parse_args([])


@pytest.mark.slow
def test_ccgs_method_reads_a_checkpoint_and_reports_all_metrics(fixture_corpus, capsys, tmp_path):
    from mmdemo.checkpoint import save_checkpoint
    from mmdemo.models.ccgs import CCGS, CCGSConfig
    from mmdemo.models.factory import CCGS_FAMILY

    config = CCGSConfig(use_visual=False, plm_layers=1, train_plm_layers=0, hidden=32)
    model = CCGS.from_config(config, pretrained=True)
    save_checkpoint(tmp_path / "ccgs", model.trained_state_dict(), family=CCGS_FAMILY, config=config, meta={"task": "ccgs"})
    qfile, subs = fixture_corpus
    argv = ["medvidqa", "--questions", str(qfile), "--subtitles", str(subs), "--method", "ccgs",
            "--checkpoint", str(tmp_path / "ccgs"), "--candidates", "2"]
    metrics = run(capsys, argv)
    assert KEYS <= set(metrics) and metrics["n"] == 3 and metrics["method"] == "ccgs"
    # videos beyond the CCGS shortlist keep the hybrid order, so every gold video is ranked
    assert metrics["R@5"] == 100.0


def test_ccgs_method_without_checkpoint_is_an_error(fixture_corpus, capsys):
    qfile, subs = fixture_corpus
    assert main(["medvidqa", "--questions", str(qfile), "--subtitles", str(subs), "--method", "ccgs"]) == 2
    assert "--checkpoint" in capsys.readouterr().err


@pytest.fixture(scope="module")
def span_qa_checkpoint(tmp_path_factory):
    """An untrained span QA export: MiniLM's first layer (frozen) and a fresh head."""
    from mmdemo.checkpoint import save_checkpoint
    from mmdemo.models.factory import SPAN_QA
    from mmdemo.models.span_qa import SpanQA, SpanQAConfig

    model = SpanQA.from_config(SpanQAConfig(encoder_layers=1, train_layers=0), pretrained=True)
    path = tmp_path_factory.mktemp("span_qa") / "export"
    save_checkpoint(path, model.trained_state_dict(), family=SPAN_QA, config=model.config, meta={"task": "extractive-qa"})
    return path


def one_word_squad(path, pairs):
    """Questions over one-word contexts (context, gold answer): whatever the weights, the only span is the word."""
    paragraphs = [{"context": word, "qas": [{"id": str(i), "question": f"Which city is number {i}?",
                                             "answers": [{"text": gold, "answer_start": 0}]}]}
                  for i, (word, gold) in enumerate(pairs)]
    path.write_text(json.dumps({"version": "v1.1", "data": [{"title": "cities", "paragraphs": paragraphs}]}), encoding="utf-8")
    return path


def test_extractive_qa_scores_a_squad_file(span_qa_checkpoint, tmp_path, capsys):
    right = one_word_squad(tmp_path / "right.json", [("Paris", "Paris"), ("London", "London"), ("Rome", "Rome")])
    scores = run(capsys, ["extractive-qa", "--squad", str(right), "--checkpoint", str(span_qa_checkpoint)])
    assert {k: scores[k] for k in ("n", "exact_match", "f1")} == {"n": 3, "exact_match": 100.0, "f1": 100.0}
    assert {"exact_match", "f1"} <= set(scores["baseline"])  # the trivial baseline, measured in the same run
    # "London" against the gold "Lond": no exact match and no token in common
    one_wrong = one_word_squad(tmp_path / "one_wrong.json", [("Paris", "Paris"), ("London", "Lond"), ("Rome", "Rome")])
    scores = run(capsys, ["extractive-qa", "--squad", str(one_wrong), "--checkpoint", str(span_qa_checkpoint)])
    assert {k: scores[k] for k in ("n", "exact_match", "f1")} == {"n": 3, "exact_match": 66.67, "f1": 66.67}


def test_extractive_qa_reports_a_malformed_file(span_qa_checkpoint, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"data": [{"paragraphs": [{"context": "abc", "qas": [
        {"id": "1", "question": "q?", "answers": [{"text": "abd", "answer_start": 0}]}]}]}]}), encoding="utf-8")
    assert main(["extractive-qa", "--squad", str(bad), "--checkpoint", str(span_qa_checkpoint)]) == 2
    assert "'abd' is not at answer_start 0" in capsys.readouterr().err


@pytest.mark.slow
def test_span_qa_method_reads_the_first_stage_videos_and_reports_all_metrics(fixture_corpus, span_qa_checkpoint, capsys):
    qfile, subs = fixture_corpus
    argv = ["medvidqa", "--questions", str(qfile), "--subtitles", str(subs), "--method", "span-qa",
            "--checkpoint", str(span_qa_checkpoint), "--candidates", "2"]
    metrics = run(capsys, argv)
    assert KEYS <= set(metrics) and metrics["n"] == 3 and metrics["method"] == "span-qa"
    assert metrics["R@1"] == 100.0  # the video order is the hybrid first stage's
    assert metrics["Rank@100 IoU=0.3"] > 0.0  # spans of the right video are among the candidates


def test_span_qa_method_without_checkpoint_is_an_error(fixture_corpus, capsys):
    qfile, subs = fixture_corpus
    assert main(["medvidqa", "--questions", str(qfile), "--subtitles", str(subs), "--method", "span-qa"]) == 2
    assert "--method span-qa needs --checkpoint" in capsys.readouterr().err


def test_zero_shot_clip_is_scored_beside_the_trained_scene_models(tmp_path):
    """Table 2 C01-C03: with random weights zero-shot CLIP is near chance, but it is scored."""
    import math

    from mmdemo.data.tau import read_tau
    from mmdemo.evaluate import _zero_shot_scene
    from training.data.synthetic_scenes import SynthConfig, generate

    generate(tmp_path, clips_per_class=2, seed=0, held_out_fraction=0.5, config=SynthConfig(seconds=1.0), workers=1)
    split = read_tau(tmp_path, "evaluate")
    row = _zero_shot_scene(split.items, split.classes, "ViT-B-32", "")
    assert set(row) == {"log_loss", "accuracy"}
    assert 0.0 <= row["accuracy"] <= 100.0
    assert abs(row["log_loss"] - math.log(len(split.classes))) < 1.5  # random weights: close to chance


@pytest.fixture(scope="module")
def caption_fixture(tmp_path_factory):
    """An untrained width-32 captioner export and a 5-clip val split in the MSRVTT layout (random
    16-d frame features, two references and a transcript per clip)."""
    import numpy as np
    from safetensors.numpy import save_file

    from mmdemo.checkpoint import save_checkpoint
    from mmdemo.models.captioner import Captioner, CaptionerConfig
    from mmdemo.models.factory import CAPTIONER

    tmp_path = tmp_path_factory.mktemp("caption")
    config = CaptionerConfig(frame_dim=16, max_frames=4, text_train_layers=0, max_caption_tokens=8, dim=32, heads=2,
                             ff_dim=64, video_layers=1, cross_layers=1, decoder_layers=1)
    model = Captioner.from_config(config, pretrained=True)
    meta = {"task": "caption", "mode": "V+T", "features": {"model": "random"}}
    save_checkpoint(tmp_path / "captioner", model.trained_state_dict(), family=CAPTIONER, config=config, meta=meta)
    data = tmp_path / "data"
    (data / "features").mkdir(parents=True)
    ids = [f"val{i}" for i in range(5)]
    annotations = {"videos": [{"video_id": v, "split": "val"} for v in ids] + [{"video_id": "train0", "split": "train"}],
                   "sentences": [{"video_id": v, "caption": c} for v in [*ids, "train0"]
                                 for c in ("a red circle moves left", "the red circle slides to the left")]}
    (data / "annotations.json").write_text(json.dumps(annotations))
    (data / "transcripts.json").write_text(json.dumps({v: [{"start": 0.0, "end": 1.0, "text": "watch the red one"}]
                                                       for v in ids}))
    rng = np.random.default_rng(0)
    for v in ids:
        save_file({"embeddings": rng.standard_normal((6, 16)).astype(np.float32), "times": np.arange(6, dtype=np.float32)},
                  str(data / "features" / f"{v}.safetensors"), metadata={"model": "random", "fps": "4.0"})
    return data, tmp_path / "captioner"


@pytest.mark.parametrize("beam", [1, 2])
def test_caption_scores_every_clip_of_the_split(caption_fixture, capsys, beam):
    data, checkpoint = caption_fixture
    metrics = run(capsys, ["caption", "--data", str(data), "--split", "val", "--checkpoint", str(checkpoint),
                           "--beam", str(beam), "--batch-size", "2"])
    assert {"BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"} <= set(metrics)
    assert metrics["clips"] == 5 and metrics["mode"] == "V+T" and metrics["beam"] == beam  # mode from the export
    assert all(0.0 <= metrics[k] <= 100.0 for k in ("BLEU-3", "BLEU-4", "METEOR", "ROUGE-L"))


def test_caption_refuses_features_from_another_image_model(caption_fixture, capsys, tmp_path):
    import shutil

    data, trained = caption_fixture
    checkpoint = shutil.copytree(trained, tmp_path / "captioner")
    meta = json.loads((checkpoint / "meta.json").read_text())
    (checkpoint / "meta.json").write_text(json.dumps({**meta, "features": {"model": "ViT-S-32"}}))
    assert main(["caption", "--data", str(data), "--checkpoint", str(checkpoint), "--mode", "V"]) == 2
    assert "ViT-S-32" in capsys.readouterr().err


def test_audio_retrieval_refuses_a_checkpoint_of_pickles(tmp_path, capsys):
    checkpoint, data = tmp_path / "checkpoint", tmp_path / "data"
    checkpoint.mkdir()
    (checkpoint / "model.pkl").write_bytes(b"\x80\x04K\x01.")  # never unpickled: refused by name
    (data / "evaluation").mkdir(parents=True)
    (data / "clotho_captions_evaluation.csv").write_text(
        "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\na.wav,a,b,c,d,e\n", encoding="utf-8")
    (data / "evaluation" / "a.wav").write_bytes(b"RIFF")
    assert main(["audio-retrieval", "--data", str(data), "--checkpoint", str(checkpoint)]) == 2
    assert "pickle files (model.pkl)" in capsys.readouterr().err
