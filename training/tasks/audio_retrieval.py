"""Language-based audio retrieval: the dual encoder trained with NT-Xent on audio-caption pairs.

``--data`` is a folder in the Clotho v2 layout (``training/data/clotho.py``): the real Clotho
download, or one written by ``python -m training.data.synthetic_audio``. The train split gives
one example per recording per epoch: the audio (a random window of ``train_seconds`` when it
is longer, section 2.5) with one of its captions, drawn anew each epoch and swapped for a
rephrasing with probability 0.3 (section 2.4.4). Validation embeds every val recording whole,
segment by segment as the app does, against all of its captions, and reports mAP@10 and R@k
in both directions (section 2.6: mAP@10 selects the model).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from mmdemo.data.clotho import AudioCaptionItem, read_clotho
from mmdemo.media.audio import load_audio
from mmdemo.metrics import cross_modal_retrieval
from mmdemo.models.audio_text import (
    DualEncoder,
    DualEncoderConfig,
    segment_waveform,
    tokenize_captions,
)
from mmdemo.models.factory import AUDIO_TEXT, create_model, load_model
from mmdemo.models.losses import symmetric_cross_entropy
from training.data.caption_augment import AugmentConfig, CaptionAugmenter
from training.scratch import init_encoder_, is_pretrained, scratch_config
from training.task import Task


@dataclass
class AudioRetrievalTaskConfig:
    # The CPU configuration (ours): the compact CNN audio tower and MiniLM's top two layers
    # fine-tuned. The paper's: model.audio.kind = "passt" with a RoBERTa/BERT text tower
    # (configs/audio_retrieval_passt.yaml).
    model: DualEncoderConfig = field(default_factory=lambda: DualEncoderConfig(text_train_layers=2))
    train_split: str = "development"
    val_split: str = "validation"
    # Section 2.5: recordings longer than this are cut to a random window while training
    # (the paper: 30 s); shorter ones are zero-padded to the longest in the batch.
    train_seconds: float = 30.0
    augment: AugmentConfig = field(default_factory=AugmentConfig)  # section 2.4.4: p = 0.3
    text_lr_scale: float = 0.05  # the pretrained text layers learn at lr * this; fresh layers at lr
    seed: int = 0
    # An export to fine-tune (its model config replaces ``model``), e.g. the bundled synthetic-data
    # model adapted to real recordings (configs/audio_retrieval_real.yaml). "" = start afresh.
    init_from: str = ""


class TrainPairs(Dataset):
    """One (waveform, caption) per recording; the caption and window depend on (index, epoch)."""

    def __init__(self, items: list[AudioCaptionItem], sample_rate: int, window: int, augmenter: CaptionAugmenter,
                 seed: int) -> None:
        self.items, self.sample_rate, self.window = items, sample_rate, window
        self.augmenter, self.seed, self.epoch = augmenter, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[np.ndarray, str]:
        item = self.items[index]
        rng = random.Random(f"{self.seed}:{self.epoch}:{index}")  # a function of (index, epoch): resumable
        caption = self.augmenter(item, rng.choice(item.captions), rng)
        waveform = load_audio(item.audio_path, sample_rate=self.sample_rate)
        if len(waveform) > self.window:
            start = rng.randrange(len(waveform) - self.window + 1)
            waveform = waveform[start : start + self.window]
        return waveform, caption


class ValRecordings(Dataset):
    """Each val recording, whole, with all of its captions."""

    def __init__(self, items: list[AudioCaptionItem], sample_rate: int) -> None:
        self.items, self.sample_rate = items, sample_rate

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[np.ndarray, tuple[str, ...]]:
        item = self.items[index]
        return load_audio(item.audio_path, sample_rate=self.sample_rate), item.captions


@dataclass
class ValBatch:
    recordings: list[torch.Tensor]  # whole waveforms, one per recording
    tokens: dict[str, torch.Tensor]  # all their captions
    owners: torch.Tensor  # caption -> index of its recording within the batch


class AudioRetrievalTask(Task):
    family = AUDIO_TEXT
    Config = AudioRetrievalTaskConfig
    selection_metric = "t2a_mAP@10"
    selection_mode = "max"

    def build_model(self, init: str) -> DualEncoder:
        """From scratch: a random text encoder, trained whole, and a random PaSST (never its release weights)."""
        self.init = init
        if self.config.init_from:
            model = load_model(self.config.init_from, AUDIO_TEXT)
            self.config.model = model.config
        else:
            model = create_model(AUDIO_TEXT, self.model_config(), pretrained=is_pretrained(init))
            init_encoder_(model.text.backbone, init)
        # collate (maybe in a DataLoader worker) tokenizes the captions
        self.tokenize = partial(tokenize_captions, model.text.tokenizer, max_length=self.config.model.text.max_length)
        return model

    def build_datasets(self, data_dir: Path) -> tuple[Dataset, Dataset | None]:
        cfg = self.config
        rate = cfg.model.front_end.sample_rate
        train = read_clotho(data_dir, cfg.train_split)
        window = round(cfg.train_seconds * rate)
        train_set = TrainPairs(train, rate, window, CaptionAugmenter(cfg.augment), cfg.seed)
        val_csv = Path(data_dir) / f"clotho_captions_{cfg.val_split}.csv"
        val_set = ValRecordings(read_clotho(data_dir, cfg.val_split), rate) if val_csv.exists() else None
        return train_set, val_set

    def collate(self, items: list[Any]) -> Any:
        waveforms = [torch.from_numpy(np.asarray(w, dtype=np.float32)) for w, _ in items]
        if isinstance(items[0][1], str):  # train: zero-padded to the longest in the batch (section 2.5)
            return torch.nn.utils.rnn.pad_sequence(waveforms, batch_first=True), self.tokenize([c for _, c in items])
        captions = [caption for _, caps in items for caption in caps]
        owners = torch.tensor([i for i, (_, caps) in enumerate(items) for _ in caps])
        return ValBatch(waveforms, self.tokenize(captions), owners)

    def param_groups(self, model: DualEncoder, train: Any) -> list[dict[str, Any]]:
        """Pretrained text layers at ``lr * text_lr_scale``; everything trained from scratch at lr."""
        groups = []
        for pretrained in (True, False):
            named = [(n, p) for n, p in model.named_parameters()
                     if p.requires_grad and n.startswith("text.backbone.") == pretrained]
            scale = self.config.text_lr_scale if pretrained else 1.0
            for decay in (True, False):
                params = [p for _, p in named if (p.dim() >= 2) == decay]
                if params:
                    groups.append({"params": params, "weight_decay": train.weight_decay if decay else 0.0,
                                   "lr_scale": scale})
        return groups

    def compute_losses(self, model: torch.nn.Module, batch: Any) -> dict[str, torch.Tensor]:
        waveforms, tokens = batch
        logits = model(waveforms, tokens["input_ids"], tokens["attention_mask"]).float()
        plain = model.module if hasattr(model, "module") else model
        return {"loss": symmetric_cross_entropy(logits), "temperature": (1.0 / plain.logit_scale()).detach()}

    def evaluate(self, model: DualEncoder, batches: Iterable[ValBatch]) -> dict[str, float]:
        audio, text, owners, offset = [], [], [], 0
        for batch in batches:
            for waveform in batch.recordings:
                pieces = torch.from_numpy(segment_waveform(waveform.cpu().numpy(), model.segment_samples))
                audio.append(torch.nn.functional.normalize(model.embed_audio(pieces.to(model.device)).float().mean(0), dim=0))
            text.append(model.embed_text(**batch.tokens).float())
            owners.append(batch.owners.cpu() + offset)
            offset += len(batch.recordings)
        similarity = (torch.cat(text) @ torch.stack(audio).T).cpu().numpy()
        metrics = cross_modal_retrieval(similarity, torch.cat(owners).tolist())
        pairs = min(similarity.shape[1], 256)  # the training loss on val, over one caption per recording
        firsts = [int(np.flatnonzero(torch.cat(owners).numpy() == a)[0]) for a in range(pairs)]
        logits = float(model.logit_scale()) * torch.from_numpy(similarity[firsts, :pairs]).T  # on the CPU, as similarity
        metrics["loss"] = float(symmetric_cross_entropy(logits))
        return metrics

    def model_config(self) -> DualEncoderConfig:
        """``config.model``; from scratch the whole text encoder trains (and is exported)."""
        return scratch_config(self.config.model, self.init, "text_train_layers")

    def export_state(self, model: DualEncoder) -> dict[str, torch.Tensor]:
        return model.trained_state_dict()

    def export_meta(self) -> dict[str, Any]:
        return {"note": "language-based audio retrieval (CP-JKU DCASE2023 task 6b recipe)"}
