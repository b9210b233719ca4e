"""The extractive-qa task: window targets by hand, training rows, scratch init, and the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmdemo.data.squad import load_squad
from mmdemo.models.span_qa import SpanQAConfig
from training.data.medvidqa_spans import write_dataset
from training.tasks.extractive_qa import ExtractiveQATask, ExtractiveQATaskConfig, answer_tokens, build_rows

REPO = Path(__file__).resolve().parents[2]

# [CLS] q [SEP] "chin"(10-14) "tu"(15-17) "ck"(17-19) [SEP]: the window holds characters 10-19
OFFSETS = torch.tensor([[0, 0], [0, 3], [0, 0], [10, 14], [15, 17], [17, 19], [0, 0]])
CONTEXT = torch.tensor([False, False, False, True, True, True, False])


@pytest.mark.parametrize("start, end, target", [
    (15, 19, (4, 5)),  # "tuck": both of its tokens
    (10, 19, (3, 5)),  # the whole window
    (11, 16, (3, 4)),  # inside tokens: the tokens holding its first and last characters
    (0, 5, (0, 0)),  # before the window: [CLS]
    (19, 25, (0, 0)),  # after it
    (5, 12, None),  # starts before the window, ends inside: not trained on
    (17, 25, None),  # starts inside, ends after
])
def test_answer_tokens_by_hand(start, end, target):
    assert answer_tokens(OFFSETS, CONTEXT, start, end) == target


def small_task(**task) -> ExtractiveQATask:
    model = SpanQAConfig(encoder_layers=1, train_layers=1, max_length=64, doc_stride=16, max_answer_tokens=48)
    return ExtractiveQATask(ExtractiveQATaskConfig(model=model, **task))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("span-data")
    write_dataset(out, None, synthetic=6, synthetic_val=2, seed=0)
    return out


def test_rows_target_the_answer_tokens_and_cap_answerless_windows(synthetic):
    task = small_task()
    model = task.build_model("pretrained")
    examples = load_squad(synthetic / "train.json").examples
    rows = build_rows(model, examples, max_negative=-1, seed=0)
    capped = build_rows(model, examples, max_negative=1, seed=0)
    positives = [r for r in rows if r.start > 0]
    assert positives and len(rows) > len(capped) >= len(positives) + 1
    assert len([r for r in capped if r.start == 0]) <= len(examples)
    answers = {a.text for e in examples for a in e.answers}
    for row in positives:  # the target tokens spell an answer (uncased, as MiniLM's vocabulary)
        text = model.tokenizer.decode(row.input_ids[row.start : row.end + 1])
        assert any(text.replace(" ", "") == a.lower().replace(" ", "") for a in answers), text


def test_scratch_draws_every_weight_and_trains_and_exports_the_whole_encoder():
    task = small_task()
    torch.manual_seed(0)
    model = task.build_model("scratch")
    assert task.model_config().train_layers == -1 and model.config.train_layers == -1
    assert all(p.requires_grad for p in model.parameters())
    assert set(task.export_state(model)) == set(model.state_dict())
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Embedding)):
            weight = module.weight.detach()
            assert weight.abs().max() <= 0.04 + 1e-6, name  # truncated at 2 std
            if weight.numel() > 10_000:
                assert 0.015 < float(weight.std()) < 0.02, name  # std 0.02 before truncation
    pretrained = small_task()
    pretrained.build_model("pretrained")
    assert pretrained.model_config().train_layers == 1


@pytest.mark.slow
def test_cli_training_lowers_the_loss_and_exports_a_reader_the_app_loads(synthetic, tmp_path, device):
    from mmdemo.config import Settings
    from mmdemo.media.subtitles import Caption
    from mmdemo.models.factory import SPAN_QA, load_model
    from mmdemo.pipelines.locate_answer import AnswerLocator
    from training.metrics_log import read_metrics

    out = tmp_path / "run"
    config = tmp_path / "qa.yaml"
    config.write_text(
        "train: {epochs: 3, batch_size: 4, lr: 1.0e-3, log_every: 1, checkpoint_every: 0}\n"
        "task: {model: {encoder_layers: 1, train_layers: 1, max_length: 96, doc_stride: 32, max_answer_tokens: 64}}\n"
    )
    command = [sys.executable, "-m", "training", "extractive-qa", "--data", str(synthetic), "--out", str(out),
               "--config", str(config), "--device", device]
    done = subprocess.run(command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["status"] == "finished"
    rows = read_metrics(out / "metrics.csv")
    losses = [float(r["value"]) for r in rows if r["split"] == "train" and r["name"] == "loss"]
    assert min(losses[-3:]) < losses[0]
    assert {"exact_match", "f1", "loss"} <= {r["name"] for r in rows if r["split"] == "val"}

    export = out / "export"
    assert (export / "model.safetensors").stat().st_size < 10e6  # the frozen embeddings stay with MiniLM
    meta = json.loads((export / "meta.json").read_text())
    assert meta["task"] == "extractive-qa" and meta["selection"]["metric"] == "f1"
    assert load_model(export, SPAN_QA).config.max_length == 96

    (tmp_path / "checkpoints").mkdir()
    os.symlink(export, tmp_path / "checkpoints" / "span_qa")
    locator = AnswerLocator.load(Settings(checkpoints_dir=tmp_path / "checkpoints"))
    captions = [Caption(0.0, 3.0, "welcome back"), Caption(3.0, 7.0, "wrap the bandage around the wrist"),
                Caption(7.0, 9.0, "thanks for watching")]
    reading = locator.read_answer("How do I bandage my wrist?", captions)
    assert reading is not None and reading.text
    assert set(reading.sentences) <= set(captions)
    assert reading.text in " ".join(c.text for c in reading.sentences)


# ------------------------------------------------------------------ COVID-QA-shaped data

FACTS = ["The virus binds the ACE2 receptor on airway cells.", "Incubation lasts about five days on average.",
         "Masks reduce the spread of droplets.", "Fever and dry cough are the most common symptoms.",
         "Older patients face a higher risk of severe disease.", "Vaccines train the immune system to respond."]
ASKED = [("What receptor does the virus bind?", "the ACE2 receptor"), ("How long is the incubation?", "about five days"),
         ("What reduces the spread of droplets?", "Masks"), ("Which symptoms are most common?", "Fever and dry cough")]


def covidqa_like(path: Path, shifts: list[int], articles: int = 2) -> None:
    """COVID-QA's shape: whole articles of many lines (several windows each), integer ids, no titles, and
    ``answer_start`` values off by ``shifts`` characters (the last shift large: that question cannot be placed)."""
    data, qid = [], 0
    for a in range(articles):
        context = f"Article {a}\n\nhttps://example.org/{a}\n\n" + "\n".join(FACTS[a:] + FACTS[:a]) * 2
        qas = []
        for (question, answer), shift in zip(ASKED, shifts):
            qas.append({"id": qid, "question": question, "is_impossible": False,
                        "answers": [{"text": answer, "answer_start": context.index(answer) + shift}]})
            qid += 1
        data.append({"paragraphs": [{"context": context, "qas": qas}]})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": "v1.1", "data": data}), encoding="utf-8")


TINY_QA = ("train: {epochs: 2, batch_size: 4, lr: 1.0e-3, log_every: 1, checkpoint_every: 0}\n"
           "task: {max_negative_windows: 1, model: {encoder_layers: 1, train_layers: 1, max_length: 48, doc_stride: 16,"
           " max_answer_tokens: 16}}\n")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_cli_trains_on_covidqa_shaped_data_repairing_offsets_and_evaluates_beside_a_baseline(synthetic, tmp_path, device):
    data = tmp_path / "covidqa"
    covidqa_like(data / "train.json", shifts=[0, -1, 3, 500])
    covidqa_like(data / "val.json", shifts=[0, 2, 0, 0], articles=1)
    (tmp_path / "qa.yaml").write_text(TINY_QA)
    train = ["-m", "training", "extractive-qa", "--data", str(data), "--config", str(tmp_path / "qa.yaml"),
             "--device", device]

    strict = run_cli(*train, "--out", str(tmp_path / "strict"))
    assert strict.returncode != 0 and "is not at answer_start" in strict.stderr  # never silently

    out = tmp_path / "run"
    extra = synthetic / "train.json"  # MedVidQA-style spans trained beside it
    done = run_cli(*train, "--out", str(out), "--set", "task.offset_slack=20", "--set", f"task.extra_train=[{extra}]")
    assert done.returncode == 0, done.stderr[-4000:]
    # per article: 1 at its offset, 2 repaired, 1 dropped (500 characters off)
    assert f"{data / 'train.json'}: 6 questions, 4 answer_start repaired, 2 dropped (3, 7)" in done.stderr
    assert f"{data / 'val.json'}: 4 questions, 1 answer_start repaired, 0 dropped" in done.stderr
    meta = json.loads((out / "export" / "meta.json").read_text())
    assert set(meta["squad_files"]) == {str(data / "train.json"), str(extra), str(data / "val.json")}
    assert {"exact_match", "f1"} <= set(meta["metrics"])

    scored = run_cli("-m", "mmdemo.evaluate", "extractive-qa", "--squad", str(data / "val.json"),
                     "--checkpoint", str(out / "export"), "--max-shift", "20")
    assert scored.returncode == 0, scored.stderr[-4000:]
    metrics = json.loads(scored.stdout)
    assert metrics["n"] == 4 and metrics["answer_start_repaired"] == 1 and metrics["questions_dropped"] == 0
    assert 0 <= metrics["f1"] <= 100 and metrics["baseline"]["f1"] > 0  # the answers' own sentences share words
    refused = run_cli("-m", "mmdemo.evaluate", "extractive-qa", "--squad", str(data / "val.json"),
                      "--checkpoint", str(out / "export"))
    assert refused.returncode == 2 and "not at answer_start" in refused.stderr
