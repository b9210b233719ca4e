"""Extractive QA: the span reader (``mmdemo.models.span_qa``) on SQuAD-format data.

``--data`` is a folder with ``train.json`` and, optionally, ``val.json``, both SQuAD v1.1 or
v2.0 JSON (``mmdemo.data.squad``): SQuAD itself (``train-v1.1.json`` saved as train.json,
``dev-v1.1.json`` as val.json), COVID-QA (``../shared/data/covidqa``), or what
``python -m training.data.medvidqa_spans`` writes from MedVidQA train videos and synthetic
transcripts. ``extra_train`` adds further SQuAD files to train on (e.g. MedVidQA spans beside
COVID-QA). Without val.json nothing is evaluated and the final weights are exported.
``offset_slack`` repairs answers whose ``answer_start`` is a few characters off (COVID-QA has
~230); the counts of repaired and dropped questions are printed and kept in the export's meta.json.

Training rows follow Hugging Face's SQuAD recipe (the paper's section 3.2.2 "default
values"): every window of every context is a row; a window holding the whole (first) answer
targets its first and last tokens, a window holding none of it (or an unanswerable question)
targets [CLS]. Ours: a window holding only part of the answer is left out, since long
subtitle answers would otherwise teach "no answer here" on the answer's own words; and
``max_negative_windows`` caps the answerless windows per question for CPU budgets.

Val is scored as SQuAD is: the reader answers every question over its whole context, every
window of it (for a v2.0 file "no answer" competes), exact match and F1 against every gold
answer; the export is the epoch with the best val F1. The val loss is over the same mix of
windows as train (answerless ones capped alike), so the two losses compare. ``--init scratch`` starts every weight from section 3.2.2's
truncated normal and trains and exports the whole encoder.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import torch
from torch.utils.data import Dataset

from mmdemo.data.squad import SquadExample, load_squad
from mmdemo.metrics import squad_scores
from mmdemo.models.factory import SPAN_QA, create_model
from mmdemo.models.span_qa import SpanQA, SpanQAConfig
from training.scratch import init_encoder_, is_pretrained, scratch_config
from training.task import Task


@dataclass
class ExtractiveQATaskConfig:
    # Ours, for CPUs and small exports: MiniLM's top two layers and the head are fine-tuned, the
    # rest stays pretrained (train_layers=-1 trains the whole encoder, as the paper does).
    model: SpanQAConfig = field(default_factory=lambda: SpanQAConfig(train_layers=2))
    train_file: str = "train.json"
    val_file: str = "val.json"
    extra_train: tuple[str, ...] = ()  # more SQuAD files trained on (paths as given, not under --data)
    offset_slack: int = 0  # characters an answer may sit from its answer_start and be repaired; 0 = refuse
    max_negative_windows: int = -1  # answerless windows kept per question; -1 = all (Hugging Face)
    encoder_lr_scale: float = 1.0  # encoder layers learn at lr * this, the new head at lr (1 = the paper's one lr)
    seed: int = 0  # which answerless windows are kept


def answer_tokens(offsets: torch.Tensor, context: torch.Tensor, start: int, end: int) -> tuple[int, int] | None:
    """Target tokens of the answer characters [start, end) in one window.

    (first, last) token of the answer when the window holds all of it; (0, 0), i.e. [CLS], when
    it holds none of it; None when it holds only part (such windows are not trained on).
    """
    tokens = context.nonzero().squeeze(1).tolist()
    window_start, window_end = int(offsets[tokens[0], 0]), int(offsets[tokens[-1], 1])
    if end <= window_start or start >= window_end:
        return 0, 0
    if start < window_start or end > window_end:
        return None
    first = next(t for t in tokens if int(offsets[t, 1]) > start)
    last = next(t for t in reversed(tokens) if int(offsets[t, 0]) < end)
    return first, last


@dataclass
class Row:
    """One training window: its tokens (unpadded) and target positions."""

    input_ids: torch.Tensor
    token_type_ids: torch.Tensor | None
    start: int
    end: int


class Rows(Dataset):
    def __init__(self, rows: list[Row]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> Row:
        return self.rows[index]


def build_rows(model: SpanQA, examples: list[SquadExample], max_negative: int, seed: int, chunk: int = 64) -> list[Row]:
    """Every window of every example with its target, answerless ones capped per example."""
    rows: list[Row] = []
    for lo in range(0, len(examples), chunk):
        part = examples[lo : lo + chunk]
        windows = model.tokenize([e.question for e in part], [e.context for e in part])
        per_example: dict[int, tuple[list[Row], list[Row]]] = {}
        for w, owner in enumerate(windows.example):
            example = part[owner]
            answer = example.answers[0] if example.answers else None
            target = (0, 0) if answer is None else answer_tokens(
                windows.offsets[w], windows.context[w], answer.start, answer.start + len(answer.text))
            if target is None:
                continue
            length = int(windows.attention_mask[w].sum())
            types = windows.token_type_ids[w, :length] if windows.token_type_ids is not None else None
            row = Row(windows.input_ids[w, :length], types, *target)
            positives, negatives = per_example.setdefault(owner, ([], []))
            (negatives if target == (0, 0) else positives).append(row)
        for owner, (positives, negatives) in sorted(per_example.items()):
            if 0 <= max_negative < len(negatives):
                negatives = random.Random(seed * 1_000_003 + lo + owner).sample(negatives, max_negative)
            rows += positives + negatives
    return rows


class ExtractiveQATask(Task):
    family = SPAN_QA
    Config = ExtractiveQATaskConfig
    selection_metric = "f1"
    selection_mode = "max"

    def build_model(self, init: str) -> SpanQA:
        self.init = init
        self.model = create_model(SPAN_QA, self.model_config(), pretrained=is_pretrained(init))
        init_encoder_(self.model, init)  # scratch: every weight, head included, from section 3.2.2's initializer
        return self.model

    def model_config(self) -> SpanQAConfig:
        """``config.model``; from scratch the whole encoder trains (and is exported)."""
        return scratch_config(self.config.model, self.init, "train_layers")

    def build_datasets(self, data_dir: Path) -> tuple[Rows, Rows | None]:
        cfg = self.config
        train_file, val_file = Path(data_dir) / cfg.train_file, Path(data_dir) / cfg.val_file
        if not train_file.is_file():
            raise FileNotFoundError(f"{data_dir} has no {cfg.train_file} (SQuAD JSON; see training/tasks/extractive_qa.py)")
        self.squad_files: dict[str, str] = {}
        train = [e for path in (train_file, *map(Path, cfg.extra_train)) for e in self.read(path)]
        self.val_examples = self.read(val_file) if val_file.is_file() else []
        rows = Rows(build_rows(self.model, train, cfg.max_negative_windows, cfg.seed))
        if not self.val_examples:
            return rows, None
        return rows, Rows(build_rows(self.model, self.val_examples, cfg.max_negative_windows, cfg.seed))

    def read(self, path: Path) -> list[SquadExample]:
        """One SQuAD file, offsets repaired within ``offset_slack``; what was repaired is said and kept for meta.json."""
        squad = load_squad(path, self.config.offset_slack)
        print(f"{path}: {squad.summary()}", file=sys.stderr, flush=True)
        self.squad_files[str(path)] = squad.summary()
        return squad.examples

    def collate(self, rows: list[Row]) -> dict[str, torch.Tensor]:
        length = max(len(r.input_ids) for r in rows)
        input_ids = torch.full((len(rows), length), self.model.tokenizer.pad_token_id or 0, dtype=torch.long)
        attention = torch.zeros((len(rows), length), dtype=torch.long)
        for i, r in enumerate(rows):
            input_ids[i, : len(r.input_ids)], attention[i, : len(r.input_ids)] = r.input_ids, 1
        batch = {"input_ids": input_ids, "attention_mask": attention,
                 "start_positions": torch.tensor([r.start for r in rows]), "end_positions": torch.tensor([r.end for r in rows])}
        if rows[0].token_type_ids is not None:
            batch["token_type_ids"] = torch.zeros((len(rows), length), dtype=torch.long)
            for i, r in enumerate(rows):
                batch["token_type_ids"][i, : len(r.token_type_ids)] = r.token_type_ids
        return batch

    def param_groups(self, model: torch.nn.Module, train: Any) -> list[dict[str, Any]]:
        encoder = {id(p) for p in model.encoder.parameters()}
        groups = []
        for group in super().param_groups(model, train):
            for in_encoder in (True, False):
                params = [p for p in group["params"] if (id(p) in encoder) == in_encoder]
                if params:
                    groups.append({**group, "params": params, "lr_scale": self.config.encoder_lr_scale if in_encoder else 1.0})
        return groups

    def compute_losses(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"loss": model(**batch).loss}

    def evaluate(self, model: SpanQA, batches: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        """Val loss over its windows, and SQuAD exact match / F1 of whole-context answers."""
        losses = [float(model(**batch).loss) for batch in batches]
        v2 = any(e.is_impossible for e in self.val_examples)
        predictions = [model.answer(e.question, e.context, top_k=1, allow_null=v2)[0].text for e in self.val_examples]
        scores = squad_scores(predictions, [[a.text for a in e.answers] for e in self.val_examples])
        return {"loss": sum(losses) / max(len(losses), 1), **scores}

    def export_state(self, model: SpanQA) -> dict[str, torch.Tensor]:
        return model.trained_state_dict()

    def export_meta(self) -> dict[str, Any]:
        return {"squad_files": self.squad_files}
