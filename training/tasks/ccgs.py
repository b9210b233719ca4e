"""CCGS on MedVidQA-layout data: one question, its video and M negative videos per example.

``--data`` is a folder in the MedVidQA layout (``questions/<split>.json`` and
``subtitles/<split>/<video_id>.json``): the shared MedVidQA folder, or one written by
``python -m training.data.synthetic_qa``. Frame features made by ``python -m
mmdemo.frame_features --out <data>/features`` are fused in when the model config has
``use_visual``; a video without them runs text-only. Only questions whose video has subtitles are used.
When the val split has no subtitles (true of the shared MedVidQA), a share of the *train
videos* is held out for validation, so that val never sees a train video. Dev is never read.

Negatives (section 2, "Video Corpus Sampling") are drawn from the videos BM25 ranks highest
for the question: the ones a first-stage retriever confuses with the answer, which is what
Loss2 has to learn to tell apart.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
from torch.utils.data import Dataset

from mmdemo.data.medvidqa import load_medvidqa_corpus, load_questions
from mmdemo.metrics import best_iou, recall_at_k
from mmdemo.models.ccgs import CCGS, CCGSConfig, VideoInput, span_targets
from mmdemo.models.factory import CCGS_FAMILY, create_model
from mmdemo.retrieval.bm25 import BM25Index
from mmdemo.retrieval.corpus import Video
from training.scratch import init_encoder_, is_pretrained, scratch_config
from training.task import Task


@dataclass
class CCGSTaskConfig:
    # Text-only by default: MedVidQA ships no frames (table 2, "w/o element-wise CF"). The top
    # two MiniLM layers and the heads are fine-tuned, the rest stays pretrained (ours: 59
    # subtitled train questions are too few to move a whole PLM, and the export stays small).
    model: CCGSConfig = field(default_factory=lambda: CCGSConfig(use_visual=False, train_plm_layers=2))
    train_split: str = "train"
    val_split: str = "val"
    val_fraction: float = 0.2  # share of train videos held out when the val split has no subtitles
    negative_pool: int = 5  # negatives are drawn from this many top-BM25 wrong videos
    eval_candidates: int = 5  # videos CCGS scores jointly per val question (BM25's top ones)
    plm_lr_scale: float = 0.1  # pretrained layers learn at lr * this; the fresh heads at lr
    # Ours, for CPU budgets: a training example sees at most this many sentences of each video,
    # a stretch that holds the whole answer (negatives: a random stretch); 0 = whole videos.
    # Inference always reads whole videos.
    crop_sentences: int = 48
    # Ours: extra training questions from training.data.synthetic_qa (transcripts with known
    # answer spans), mixed into the train split; 0 = real data only. Val stays real.
    synthetic_videos: int = 0
    features: str = "features"  # folder under --data with <video_id>.safetensors frame features
    split_seed: int = 0


@dataclass
class Example:
    question: str
    video: int  # index into the dataset's videos
    target: tuple[int, int]  # first and last answer sentence
    answer: tuple[float, float]  # seconds


@dataclass
class CCGSBatch:
    questions: list[str]
    videos: list[list[VideoInput]]  # per question: positive first, then the negatives
    targets: torch.Tensor  # (B, 2)


def video_input(video: Video, features_dir: Path | None = None) -> VideoInput:
    """A video as CCGS reads it, with its cached frame features when there are any."""
    features = features_dir / f"{video.video_id}.safetensors" if features_dir is not None else None
    if features is None or not features.is_file():
        return VideoInput.from_captions(video.captions, video_id=video.video_id)
    from mmdemo.frame_features import load_frame_features

    embeddings, times, _ = load_frame_features(features)
    return VideoInput.from_captions(video.captions, video_id=video.video_id, visual=embeddings, frame_times=times)


class QuestionSet(Dataset):
    """Questions over a fixed set of videos, each with its hard-negative pool."""

    def __init__(self, examples: list[Example], videos: list[Video], negatives: int, pool: int, seed: int,
                 crop: int = 0, features_dir: Path | None = None):
        self.examples, self.videos = examples, videos
        self.inputs = [video_input(v, features_dir) for v in videos]
        self.negatives, self.seed, self.crop = negatives, seed, crop
        self.bm25 = BM25Index([" ".join(c.text for c in v.captions) for v in videos])
        self.pools = [self.ranked_videos(e.question, exclude=e.video)[:pool] for e in examples]

    def ranked_videos(self, question: str, exclude: int | None = None) -> list[int]:
        order = np.argsort(-self.bm25.scores(question), kind="stable")
        return [int(v) for v in order if v != exclude]

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> tuple[str, list[VideoInput], tuple[int, int]]:
        example = self.examples[index]
        rng = random.Random(self.seed * 1_000_003 + index)  # a function of the index: resumable
        pool = self.pools[index]
        chosen = rng.sample(pool, min(self.negatives, len(pool)))
        positive, target = self._crop(rng, self.inputs[example.video], example.target)
        negatives = [self._crop(rng, self.inputs[v], None)[0] for v in chosen]
        return example.question, [positive] + negatives, target

    def _crop(self, rng: random.Random, video: VideoInput, target: tuple[int, int] | None):
        """A stretch of at most ``crop`` sentences, holding the whole target when it fits
        (an answer longer than the stretch keeps its start and is cut at the stretch's end)."""
        r = len(video.sentences)
        if not self.crop or r <= self.crop:
            return video, target
        if target is None:
            first = rng.randint(0, r - self.crop)
        elif target[1] - target[0] + 1 > self.crop:
            first = target[0]
        else:
            first = rng.randint(max(0, target[1] + 1 - self.crop), min(target[0], r - self.crop))
        last = first + self.crop
        cropped = VideoInput(video.sentences[first:last], video.times[first:last], visual=video.visual,
                             frame_times=video.frame_times, duration=video.duration, video_id=video.video_id)
        if target is None:
            return cropped, None
        return cropped, (target[0] - first, min(target[1], last - 1) - first)


def read_split(data_dir: Path, split: str) -> tuple[list[dict], list[Video]] | None:
    """Questions and subtitled videos of one split, or None when the split has no subtitles."""
    questions_file, subtitles = data_dir / "questions" / f"{split}.json", data_dir / "subtitles" / split
    if not questions_file.is_file() or not subtitles.is_dir() or not any(subtitles.glob("*.json")):
        return None
    return load_questions(questions_file), load_medvidqa_corpus([subtitles])


def _with_synthetic(records: list[dict], videos: list[Video], count: int, seed: int) -> tuple[list[dict], list[Video]]:
    from training.data.synthetic_qa import generate

    synthetic_videos, questions = generate(count, seed=seed, prefix="synthetic")
    extra = [{"question": q.question, "video_id": q.video_id, "answer_start_second": q.answer_start,
              "answer_end_second": q.answer_end} for q in questions]
    return records + extra, videos + [Video(v.video_id, tuple(v.captions)) for v in synthetic_videos]


def build_examples(records: list[dict], videos: list[Video]) -> list[Example]:
    position = {v.video_id: i for i, v in enumerate(videos)}
    examples = []
    for record in records:
        v = position.get(record["video_id"])
        if v is None:
            continue
        answer = (float(record["answer_start_second"]), float(record["answer_end_second"]))
        times = [(c.start, c.end) for c in videos[v].captions]
        examples.append(Example(record["question"], v, span_targets(times, *answer), answer))
    return examples


class CCGSTask(Task):
    family = CCGS_FAMILY
    Config = CCGSTaskConfig
    selection_metric = "rank1_miou"
    selection_mode = "max"

    def build_model(self, init: str) -> CCGS:
        self.init = init
        model = create_model(CCGS_FAMILY, self.model_config(), pretrained=is_pretrained(init))
        init_encoder_(model.plm, init)
        return model

    def model_config(self) -> CCGSConfig:
        """``config.model``; from scratch the whole PLM trains (and is exported)."""
        return scratch_config(self.config.model, self.init, "train_plm_layers")

    def build_datasets(self, data_dir: Path) -> tuple[QuestionSet, QuestionSet | None]:
        cfg = self.config
        train = read_split(data_dir, cfg.train_split)
        if train is None:
            raise FileNotFoundError(f"{data_dir} has no subtitled '{cfg.train_split}' split (questions/{cfg.train_split}.json + subtitles/{cfg.train_split}/).")
        val = read_split(data_dir, cfg.val_split)
        if val is None:
            train, val = self._hold_out_videos(*train)
        if cfg.synthetic_videos:
            train = _with_synthetic(*train, cfg.synthetic_videos, seed=cfg.split_seed)
        negatives, pool, seed = cfg.model.num_negatives, cfg.negative_pool, cfg.split_seed
        features = data_dir / cfg.features if cfg.model.use_visual else None
        train_set = QuestionSet(build_examples(*train), train[1], negatives, pool, seed, cfg.crop_sentences, features)
        val_set = QuestionSet(build_examples(*val), val[1], negatives, pool, seed, features_dir=features)
        if not len(train_set):
            raise ValueError(f"no question in {data_dir}/questions/{cfg.train_split}.json has subtitles")
        self.val_set = val_set  # evaluate() answers against this split's whole corpus
        return train_set, (val_set if len(val_set) else None)

    def _hold_out_videos(self, records: list[dict], videos: list[Video]):
        asked = sorted({r["video_id"] for r in records} & {v.video_id for v in videos})
        random.Random(self.config.split_seed).shuffle(asked)
        held = set(asked[: max(1, round(self.config.val_fraction * len(asked)))])
        train_videos = [v for v in videos if v.video_id not in held]
        val_videos = [v for v in videos if v.video_id in held]
        return (records, train_videos), ([r for r in records if r["video_id"] in held], val_videos)

    def collate(self, items: list[Any]) -> CCGSBatch:
        questions, videos, targets = zip(*items)
        return CCGSBatch(list(questions), list(videos), torch.tensor(targets, dtype=torch.long))

    def param_groups(self, model: torch.nn.Module, train: Any) -> list[dict[str, Any]]:
        groups = super().param_groups(model, train)
        plm = {id(p) for p in model.plm.parameters()}
        out = []
        for group in groups:
            for is_plm in (True, False):
                params = [p for p in group["params"] if (id(p) in plm) == is_plm]
                if params:
                    scale = self.config.plm_lr_scale if is_plm else 1.0
                    out.append({**group, "params": params, "lr_scale": scale})
        return out

    def compute_losses(self, model: torch.nn.Module, batch: CCGSBatch) -> dict[str, torch.Tensor]:
        plain = model.module if hasattr(model, "module") else model
        inputs = plain.prepare(batch.questions, batch.videos).to(batch.targets.device)
        out = model(inputs, batch.targets)
        return {"loss": out.loss, "loss1": out.loss1.detach(), "loss2": out.loss2.detach()}

    def evaluate(self, model: CCGS, batches: Iterable[CCGSBatch]) -> dict[str, float]:
        """Answer each val question against the val corpus's top BM25 videos, as the app would."""
        dataset: QuestionSet = self.val_set
        hits, ious = [], []
        for example in dataset.examples:
            candidates = dataset.ranked_videos(example.question)[: self.config.eval_candidates]
            predictions = model.predict(example.question, [dataset.inputs[v] for v in candidates], k=1)
            top = predictions[0]
            video = candidates[top.video]
            hits.append(1 if video == example.video else None)
            gold = (dataset.videos[example.video].video_id, *example.answer)
            ious.append(best_iou([(dataset.videos[video].video_id, top.start_time, top.end_time)], gold, 1))
        values = np.asarray(ious)
        return {"r@1": recall_at_k(hits, 1), "rank1_miou": 100.0 * float(values.mean()),
                "rank1_iou0.5": 100.0 * float((values >= 0.5).mean())}

    def export_state(self, model: CCGS) -> dict[str, torch.Tensor]:
        return model.trained_state_dict()


def write_val_split(data_dir: Path, out_dir: Path, config: CCGSTaskConfig = CCGSTaskConfig()) -> None:
    """The held-out val questions and videos, in the MedVidQA layout, for ``mmdemo.evaluate``.

    Settings of the two-stage search (e.g. ``CCGSSearchConfig.ccgs_weight``) are chosen on this
    split: videos the model never trained on, and never dev.
    """
    import shutil

    records, videos = read_split(data_dir, config.train_split)
    _, (val_records, val_videos) = CCGSTask(config)._hold_out_videos(records, videos)
    (out_dir / "questions").mkdir(parents=True, exist_ok=True)
    (out_dir / "subtitles" / "val").mkdir(parents=True, exist_ok=True)
    (out_dir / "questions" / "val.json").write_text(json.dumps(val_records, indent=1), encoding="utf-8")
    for video in val_videos:
        source = data_dir / "subtitles" / config.train_split / f"{video.video_id}.json"
        shutil.copyfile(source, out_dir / "subtitles" / "val" / source.name)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write the CCGS task's held-out val split (MedVidQA layout).")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    arguments = parser.parse_args()
    write_val_split(arguments.data, arguments.out)
