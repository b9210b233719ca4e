"""A toy task that learns in seconds on CPU: the training loop's test subject.

Data: ``n_train + n_val`` points x ~ N(0, I) in ``in_dim`` dimensions, labelled by the argmax
of a fixed random linear map (plus label noise), drawn from ``data_seed`` so every run and every
rank sees the same dataset. ``--data`` is not read (it is recorded in the export's meta).
Model: a two-layer MLP with dropout (so resume must restore the RNG to be exact).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from mmdemo.models.factory import ModelFamily, register_family
from training.task import Task


@dataclass
class ToyModelConfig:
    in_dim: int = 8
    hidden: int = 32
    n_classes: int = 4
    dropout: float = 0.1


@dataclass
class ToyConfig:
    model: ToyModelConfig = field(default_factory=ToyModelConfig)
    n_train: int = 256
    n_val: int = 128
    label_noise: float = 0.05  # fraction of labels replaced by random classes
    data_seed: int = 1234
    sleep_per_batch: float = 0.0  # seconds; slows a run down so tests can kill it mid-epoch


class ToyMLP(nn.Module):
    def __init__(self, config: ToyModelConfig):
        super().__init__()
        self.config = config
        self.net = nn.Sequential(
            nn.Linear(config.in_dim, config.hidden),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


TOY = "toy-mlp"
register_family(TOY, ModelFamily(ToyModelConfig, lambda config, pretrained: ToyMLP(config), "a toy MLP"))  # load_model reads its exports


class ToyTask(Task):
    family = TOY
    Config = ToyConfig
    selection_metric = "accuracy"
    selection_mode = "max"

    def build_model(self, init: str) -> nn.Module:
        return ToyMLP(self.config.model)  # nothing pretrained exists for a toy: both inits are random

    def build_datasets(self, data_dir: Path) -> tuple[Dataset, Dataset]:
        cfg = self.config
        generator = torch.Generator().manual_seed(cfg.data_seed)
        n = cfg.n_train + cfg.n_val
        x = torch.randn(n, cfg.model.in_dim, generator=generator)
        teacher = torch.randn(cfg.model.in_dim, cfg.model.n_classes, generator=generator)
        y = (x @ teacher).argmax(dim=1)
        noisy = torch.rand(n, generator=generator) < cfg.label_noise
        y[noisy] = torch.randint(cfg.model.n_classes, (int(noisy.sum()),), generator=generator)
        return (TensorDataset(x[: cfg.n_train], y[: cfg.n_train]),
                TensorDataset(x[cfg.n_train:], y[cfg.n_train:]))

    def compute_losses(self, model: nn.Module, batch) -> dict[str, torch.Tensor]:
        if self.config.sleep_per_batch:
            time.sleep(self.config.sleep_per_batch)
        x, y = batch
        logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        accuracy = (logits.argmax(dim=1) == y).float().mean()
        return {"loss": loss, "accuracy": accuracy.detach()}

    def evaluate(self, model: nn.Module, batches) -> dict[str, float]:
        total_loss, correct, count = 0.0, 0, 0
        for x, y in batches:
            logits = model(x).float()
            total_loss += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(dim=1) == y).sum())
            count += len(y)
        return {"loss": total_loss / count, "accuracy": correct / count}

    def export_meta(self) -> dict:
        return {"note": "toy task: synthetic data, for tests"}
