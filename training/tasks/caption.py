"""Video captioning: the UniVL-style captioner fine-tuned with MELTR, MTL or its primary loss alone.

``--data`` is a folder in the MSRVTT layout: ``annotations.json`` (``read_msrvtt``),
``transcripts.json`` (``read_transcripts``) and ``features/<video_id>.safetensors`` cached by
``python -m mmdemo.frame_features --videos DATA/videos --out DATA/features --fps F``. The set of
``python -m training.data.synthetic_captions`` is one.

Splits (MELTR A.3, Algorithm 1): train trains, less a held-aside share (``meta_fraction``) that is
MELTR's meta-data, on which the primary loss drives the meta step; val is decoded greedily and
scored with BLEU, ROUGE-L and CIDEr-D (equal to coco-caption's) and an exact-match METEOR
(``mmdemo.metrics.captioning.meteor``: not coco-caption's METEOR 1.5), CIDEr picking the exported epoch. The meta share is
held aside whatever the combiner, so that Table 8's three rows train on the same batches.

``combiner`` is what the captioner minimises (Table 8): "meltr" M(L), "mtl" the plain sum of the
eight losses, "primary" the caption loss. With MELTR, Algorithm 1 runs inside the shared loop:
every K-th training batch, ``compute_losses`` first takes AID-FP-Lite's meta step (eq. 11, 13) on
MELTR from that batch and a meta batch, then returns the batch's M(L), and the trainer's optimizer
takes the inner step (eq. 12) on the captioner. MELTR's parameters require no gradient outside
the meta step, so the trainer's optimizer never sees them; they live in the model (the training
checkpoints carry them) and in the export (``meltr.*``). The rest of MELTR's training state (its
Adam moments, the batch counter that places the meta steps, the meta batches' generator, the
record below) goes into the training checkpoints too (``state``), so ``--resume`` continues exactly.

Recorded per epoch (``MELTRRecorder``, the paper's Figures 3-4): each loss's weight dC/dL_t
averaged over the epoch's batches, and the transformation curves; for the baselines these are
the sum's and the primary loss's constant weights. They go to the export's meta.json under "meltr".
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset

from mmdemo.data.caption_annotations import read_msrvtt, read_transcripts
from mmdemo.frame_features import load_frame_features
from mmdemo.metrics.captioning import caption_scores
from mmdemo.models.captioner import (
    LOSS_NAMES,
    MELTR_PREFIX,
    PRIMARY_LOSS,
    Captioner,
    CaptionerConfig,
    loss_vector,
    pad_frames,
)
from mmdemo.models.factory import CAPTIONER, create_model
from mmdemo.models.meltr import MELTR, MELTRConfig
from training.aid_fp_lite import (
    COMBINERS,
    AIDFPLite,
    AIDFPLiteConfig,
    LossCombiner,
    MELTRRecorder,
)
from training.scratch import init_encoder_, is_pretrained, scratch_config
from training.task import Task
from training.train_state import flatten_optimizer, unflatten_optimizer
from training.trainer import to_device

MODES = ("V", "V+T")  # UniVL's captioning inputs: video alone, or video + transcript
SAMPLES = 5  # val captions kept in the export's meta.json, to read beside the scores


@dataclass
class CaptionTaskConfig:
    # The CPU configuration (ours): UniVL's four modules at width 128 and one layer each, the
    # MiniLM text encoder frozen (text_train_layers 0: nothing of it is exported, and no
    # backward pass runs through it). frame_dim must match the cached features (ViT-S-32: 384).
    model: CaptionerConfig = field(default_factory=lambda: CaptionerConfig(
        frame_dim=384, max_frames=16, text_train_layers=0, dim=128, heads=4, ff_dim=512,
        video_layers=1, cross_layers=1, decoder_layers=1))
    mode: str = "V+T"  # "V" | "V+T" (MELTR section 5's two captioning settings)
    combiner: str = "meltr"  # "meltr" | "mtl" | "primary": Table 8's rows
    meltr: MELTRConfig = field(default_factory=MELTRConfig)  # A.3 sizes; num_losses = len(LOSS_NAMES)
    # AID-FP-Lite (A.3): meta_lr (beta) and K are used here; the inner step (eq. 12) is the
    # trainer's optimizer at train.lr, so aid.backbone_lr is not read.
    aid: AIDFPLiteConfig = field(default_factory=AIDFPLiteConfig)
    meta_fraction: float = 0.1  # A.3: the share of train held aside as meta-data (ours: 10 %)
    meta_batch_size: int = 16  # clips per meta batch (the primary loss of eq. 7)
    # The captioner parameters w the hypergradient (eq. 11) sees, as name prefixes (e.g. "cross."
    # for the cross-modal encoder); () = all of them, as the paper. A subset makes the meta step
    # cheaper and its hypergradient coarser (ours: an option; AIDFPLite.meta_step).
    meta_params: tuple[str, ...] = ()
    annotations: str = "annotations.json"  # files under --data
    transcripts: str = "transcripts.json"
    features: str = "features"
    train_split: str = "train"
    val_split: str = "val"
    max_length: int = 0  # greedy decoding at evaluation, in tokens; 0: model.max_caption_tokens - 1
    seed: int = 0  # the meta split, caption draws and meta batches

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"task.mode must be one of {', '.join(MODES)}; got {self.mode!r}")
        if self.combiner not in COMBINERS:
            raise ValueError(f"task.combiner must be one of {', '.join(COMBINERS)}; got {self.combiner!r}")
        if self.meltr.num_losses != len(LOSS_NAMES):
            raise ValueError(f"task.meltr.num_losses must be {len(LOSS_NAMES)} (the captioner's losses)")
        if not 0.0 <= self.meta_fraction < 1.0 or (self.combiner == "meltr" and not self.meta_fraction):
            raise ValueError(f"task.meta_fraction must be in [0, 1), and above 0 for MELTR; got {self.meta_fraction}")


@dataclass(frozen=True)
class Clip:
    video_id: str
    frames: np.ndarray  # (N, frame_dim) cached frame embeddings
    captions: tuple[str, ...]
    transcript: str


@dataclass
class CaptionBatch:
    frames: torch.Tensor  # (B, F, frame_dim)
    frame_mask: torch.Tensor  # (B, F) bool
    caption_ids: torch.Tensor  # (B, L) one caption per clip, [CLS] ... [SEP]
    caption_mask: torch.Tensor
    transcript_ids: torch.Tensor | None  # None in the V setting
    transcript_mask: torch.Tensor | None
    references: list[tuple[str, ...]]  # every caption of each clip (evaluation)


class CaptionClips(Dataset):
    """(clip, one of its captions); the caption is drawn by (seed, epoch, index), so resumable."""

    def __init__(self, clips: list[Clip], seed: int) -> None:
        self.clips, self.seed, self.epoch = clips, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> tuple[Clip, str]:
        clip = self.clips[index]
        return clip, random.Random(f"{self.seed}:{self.epoch}:{index}").choice(clip.captions)


class MELTRCaptioner(nn.Module):
    """The captioner beside the MELTR module that weighs its losses, as one module so that the
    trainer's checkpoints carry both; ``forward`` is the captioner's eight losses."""

    def __init__(self, captioner: Captioner, meltr: MELTR) -> None:
        super().__init__()
        self.captioner, self.meltr = captioner, meltr
        meltr.requires_grad_(False)  # only AID-FP-Lite's meta step trains it (``trainable``)

    def forward(self, batch: CaptionBatch) -> dict[str, torch.Tensor]:
        return self.captioner(batch.frames, batch.frame_mask, batch.caption_ids, batch.caption_mask,
                              batch.transcript_ids, batch.transcript_mask)

    def primary_loss(self, batch: CaptionBatch) -> torch.Tensor:
        """The caption loss alone (the meta objective needs no other)."""
        c = self.captioner
        memory, memory_mask = c.memory(batch.frames, batch.frame_mask, batch.transcript_ids, batch.transcript_mask)
        return c.caption_loss(batch.caption_ids, batch.caption_mask, memory, memory_mask)


@contextmanager
def trainable(module: nn.Module) -> Iterator[None]:
    """The module's parameters require grad inside, and hold no gradient after."""
    module.requires_grad_(True)
    try:
        yield
    finally:
        module.requires_grad_(False)
        for p in module.parameters():
            p.grad = None


class CaptionTask(Task):
    family = CAPTIONER
    Config = CaptionTaskConfig
    selection_metric = "CIDEr"  # MELTR Table 8 / UniVL report CIDEr among the captioning metrics
    selection_mode = "max"

    def __init__(self, config: CaptionTaskConfig) -> None:
        super().__init__(config)
        self.recorder = MELTRRecorder(LOSS_NAMES)
        self.recorded = 0  # steps added to the recorder since its last epoch
        self.batches = 0  # training batches seen: the meta step runs on every K-th
        self.meta_rng = torch.Generator().manual_seed(config.seed)
        self.feature_settings: dict[str, str] = {}
        self.samples: list[dict[str, Any]] = []

    @property
    def find_unused_parameters(self) -> bool:  # the primary loss leaves the other losses' heads without gradient
        return self.config.combiner == "primary"

    # -- model and data ----------------------------------------------------------------------

    def build_model(self, init: str) -> MELTRCaptioner:
        """The captioner first, then MELTR, so that the captioner starts the same whatever the combiner."""
        self.init = init
        captioner = create_model(CAPTIONER, self.model_config(), pretrained=is_pretrained(init))
        init_encoder_(captioner.text.backbone, init)
        self.tokenizer = captioner.text.tokenizer
        model = MELTRCaptioner(captioner, MELTR(self.config.meltr))
        self.combiner = LossCombiner(self.config.combiner, LOSS_NAMES.index(PRIMARY_LOSS), model.meltr)
        self.aid = AIDFPLite(model.meltr, self.config.aid)
        return model

    def model_config(self) -> CaptionerConfig:
        """``config.model``; from scratch the whole text encoder trains (and is exported)."""
        return scratch_config(self.config.model, self.init, "text_train_layers")

    def build_datasets(self, data_dir: Path) -> tuple[Dataset, Dataset | None]:
        cfg = self.config
        data_dir = Path(data_dir)
        transcripts = read_transcripts(data_dir / cfg.transcripts) if (data_dir / cfg.transcripts).is_file() else {}
        train = self._clips(data_dir, cfg.train_split, transcripts)
        val = self._clips(data_dir, cfg.val_split, transcripts)
        order = list(range(len(train)))
        random.Random(cfg.seed).shuffle(order)
        meta_count = max(1, round(cfg.meta_fraction * len(train))) if cfg.meta_fraction else 0
        if meta_count >= len(train):
            raise ValueError(f"{data_dir}: {len(train)} train clips leave none for training after the meta share")
        self.meta_set = CaptionClips([train[i] for i in sorted(order[:meta_count])], cfg.seed + 1)
        self.train_set = CaptionClips([train[i] for i in sorted(order[meta_count:])], cfg.seed)
        return self.train_set, CaptionClips(val, cfg.seed) if val else None

    def _clips(self, data_dir: Path, split: str, transcripts: dict[str, str]) -> list[Clip]:
        clips = []
        for item in read_msrvtt(data_dir / self.config.annotations, [split]):
            path = data_dir / self.config.features / f"{item.video_id}.safetensors"
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing: run python -m mmdemo.frame_features "
                                        f"--videos {data_dir}/videos --out {data_dir / self.config.features}")
            frames, _, settings = load_frame_features(path)
            if frames.shape[1] != self.config.model.frame_dim:
                raise ValueError(f"{path}: {frames.shape[1]}-d frame features ({settings.get('model')}), "
                                 f"but task.model.frame_dim is {self.config.model.frame_dim}")
            self.feature_settings = self.feature_settings or settings
            clips.append(Clip(item.video_id, frames, item.captions, transcripts.get(item.video_id, "")))
        return clips

    def collate(self, items: list[tuple[Clip, str]]) -> CaptionBatch:
        clips = [clip for clip, _ in items]
        frames, frame_mask = pad_frames([clip.frames for clip in clips], self.config.model.max_frames)
        caption_ids, caption_mask = self._tokenize([caption for _, caption in items], self.config.model.max_caption_tokens)
        transcript_ids = transcript_mask = None
        if self.config.mode == "V+T":
            transcript_ids, transcript_mask = self._tokenize([clip.transcript for clip in clips],
                                                             self.config.model.text.max_length)
        return CaptionBatch(frames, frame_mask, caption_ids, caption_mask, transcript_ids, transcript_mask,
                            [clip.captions for clip in clips])

    def _tokenize(self, texts: list[str], max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """As ``Captioner.tokenize``, on the CPU (collate may run in a loader worker)."""
        batch = self.tokenizer([" ".join(t.split()) for t in texts], padding=True, truncation=True,
                               max_length=max_length, return_tensors="pt")
        return batch["input_ids"], batch["attention_mask"]

    def param_groups(self, model: MELTRCaptioner, train: Any) -> list[dict[str, Any]]:
        """The captioner's parameters only: MELTR's belong to AID-FP-Lite's meta optimizer."""
        return super().param_groups(model.captioner, train)

    # -- training ----------------------------------------------------------------------------

    def compute_losses(self, model: nn.Module, batch: CaptionBatch) -> dict[str, torch.Tensor]:
        plain = model.module if isinstance(model, DistributedDataParallel) else model
        self.batches += 1
        if self.config.combiner == "meltr" and self.batches % self.config.aid.inner_steps == 0:
            losses = self._meta_step(plain, batch)
            if plain is not model:  # the trainer's backward must run through DDP's forward
                losses = model(batch)
        else:
            losses = model(batch)
        vector = loss_vector(losses)
        self.recorder.add(self.combiner, vector)
        self.recorded += 1
        return {"loss": self.combiner(vector), **losses}

    def _meta_step(self, model: MELTRCaptioner, batch: CaptionBatch) -> dict[str, torch.Tensor]:
        """Eq. (11), (13) at the current captioner: this batch's losses, the primary loss on a meta batch."""
        picks = torch.randint(len(self.meta_set), (self.config.meta_batch_size,), generator=self.meta_rng)
        meta = to_device(self.collate([self.meta_set[int(i)] for i in picks]), model.captioner.device)
        prefixes = self.config.meta_params
        params = [p for name, p in model.captioner.named_parameters()
                  if p.requires_grad and (not prefixes or name.startswith(prefixes))]
        with trainable(model.meltr):
            losses = model(batch)
            self.aid.meta_step(params, [losses[name] for name in LOSS_NAMES], model.primary_loss(meta))
        return losses

    def evaluate(self, model: MELTRCaptioner, batches: Iterable[CaptionBatch]) -> dict[str, float]:
        """Greedy captions of every val clip against all its references; closes the epoch's MELTR record."""
        self._end_record()
        captioner = model.captioner
        max_length = self.config.max_length or None
        candidates, references, loss, count = [], [], 0.0, 0
        for batch in batches:
            loss += float(model.primary_loss(batch)) * len(batch.references)
            count += len(batch.references)
            hypotheses = captioner.greedy(batch.frames, batch.frame_mask, batch.transcript_ids,
                                          batch.transcript_mask, max_length=max_length)
            candidates += [captioner.decode_tokens(h.tokens) for h in hypotheses]
            references += batch.references
        self.samples = [{"caption": c, "references": list(r)} for c, r in zip(candidates[:SAMPLES], references)]
        return {"caption_loss": loss / max(count, 1), **caption_scores(candidates, references)}

    def _end_record(self) -> None:
        if self.recorded:
            self.recorder.end_epoch(self.train_set.epoch, self.combiner)
            self.recorded = 0

    # -- resumable state ---------------------------------------------------------------------

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """MELTR's Adam moments, the batch counter that places the meta steps, the meta batches'
        generator and the MELTR record (MELTR's parameters are in the model's state)."""
        optim_tensors, optim_info = flatten_optimizer(self.aid.meta_optimizer.state_dict())
        record_tensors, record_info = self.recorder.state()
        tensors = {f"meltr_{name}": t for name, t in optim_tensors.items()}  # meltr_optim.<index>.<name>
        tensors.update({f"record.{name}": t for name, t in record_tensors.items()})
        tensors["meta_rng"] = self.meta_rng.get_state()
        return tensors, {"meta_optimizer": optim_info, "record": record_info, "batches": self.batches,
                         "recorded": self.recorded, "samples": self.samples}

    def load_state(self, tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> None:
        optim = {name[len("meltr_"):]: t for name, t in tensors.items() if name.startswith("meltr_optim.")}
        self.aid.meta_optimizer.load_state_dict(unflatten_optimizer(optim, info["meta_optimizer"]))
        self.recorder.load_state({name[len("record."):]: t for name, t in tensors.items() if name.startswith("record.")},
                                 info["record"])
        self.meta_rng.set_state(tensors["meta_rng"])
        self.batches, self.recorded, self.samples = info["batches"], info["recorded"], info["samples"]

    # -- export ------------------------------------------------------------------------------

    def export_state(self, model: MELTRCaptioner) -> dict[str, torch.Tensor]:
        meltr = {f"{MELTR_PREFIX}{name}": t for name, t in model.meltr.state_dict().items()}
        return {**model.captioner.trained_state_dict(), **meltr}

    def export_meta(self) -> dict[str, Any]:
        """The MELTR record (``meltr``: epochs, tasks, weights, curves), the feature settings the
        app must embed frames with (``features``), and a few val captions."""
        self._end_record()
        meltr = {**self.recorder.to_dict(), "combiner": self.config.combiner,
                 "config": asdict(self.config.meltr), "aid": asdict(self.config.aid)}
        return {"meltr": meltr, "features": dict(self.feature_settings), "mode": self.config.mode,
                "samples": self.samples, "note": "video captioning (UniVL-style) fine-tuned with MELTR (Ko et al.)"}
