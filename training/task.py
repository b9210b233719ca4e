"""What a task plugs into the one training loop.

A task is a subclass of :class:`Task` in ``training/tasks/<name>.py``, registered by name in
``training/tasks/__init__.py``. The trainer owns everything generic (devices, DDP, the optimizer,
schedule, accumulation, clipping, precision, logging, checkpoints, export); the task owns the
model, the data and what "good" means::

    class MyTask(Task):
        family = MY_MODEL            # a family of mmdemo.models.factory: load_model rebuilds the export
        Config = MyTaskConfig        # dataclass: model config (field `model`) + data options
        selection_metric = "r@1"     # a key of evaluate()'s dict
        selection_mode = "max"       # "max" (higher is better) or "min"

        def build_model(self, init): ...
        def build_datasets(self, data_dir): ...
        def compute_losses(self, model, batch): ...
        def evaluate(self, model, batches): ...

The trainer calls, in order: ``Task(config)``, ``build_model(init)``, ``build_datasets(data_dir)``,
``param_groups(model, train)``; per micro-batch ``compute_losses(model, batch)`` with the batch
(made by ``collate``) already on the device; per evaluation ``evaluate(model, batches)``;
at export ``model_config()``, ``export_state(model)`` and ``export_meta()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Iterable

import torch
from torch.utils.data import Dataset, default_collate


class Task:
    family: ClassVar[str]  # model family written to the export's config.json
    Config: ClassVar[type]  # the task's config dataclass; the "task:" section of a config file
    selection_metric: ClassVar[str] = "loss"  # key of evaluate()'s result that picks the best epoch
    selection_mode: ClassVar[str] = "min"  # "min": lower is better; "max": higher is better
    find_unused_parameters: ClassVar[bool] = False  # DDP: True if some parameters get no gradient in a step

    def __init__(self, config: Any):
        self.config = config
        self.init = "pretrained"  # what build_model was last called with; model_config() may depend on it

    # -- model and data --------------------------------------------------------------------

    def build_model(self, init: str) -> torch.nn.Module:
        """A fresh model; ``init`` is "pretrained" (load pretrained encoders) or "scratch" (random).

        Called after the trainer seeds the RNGs, so random weights are a function of the seed.
        ``training.scratch`` says what scratch means and has the calls that implement it.
        """
        raise NotImplementedError

    def build_datasets(self, data_dir: Path) -> tuple[Dataset, Dataset | None]:
        """``(train, val)`` map-style datasets read from ``--data``; val may be None (no evaluation).

        For a bit-exact ``--resume`` with ``num_workers > 0``, random augmentation should be a
        function of the item index (and epoch), not of worker RNG state. A train dataset with a
        ``set_epoch(epoch)`` method is told the epoch before each epoch's loader is built.
        """
        raise NotImplementedError

    def collate(self, items: list[Any]) -> Any:
        """Items -> one batch: tensors, or dicts/lists/tuples/dataclasses of them (moved to the device)."""
        return default_collate(items)

    def param_groups(self, model: torch.nn.Module, train: Any) -> list[dict[str, Any]]:
        """Optimizer parameter groups. Default: weight decay on matrices, none on biases and norms.

        A group may carry ``"lr_scale"`` (e.g. 0.1 for a pretrained encoder); the trainer sets
        each group's lr to ``train.lr * schedule(step) * lr_scale``.
        """
        params = [p for p in model.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        groups = [{"params": decay, "weight_decay": train.weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        return [group for group in groups if group["params"]]

    # -- training ----------------------------------------------------------------------------

    def compute_losses(self, model: torch.nn.Module, batch: Any) -> dict[str, torch.Tensor]:
        """Losses for one micro-batch: ``{"loss": scalar to minimize, **other terms to log}``.

        Call ``model(...)`` (its forward) only: under DDP ``model`` is the DistributedDataParallel
        wrapper, and only its forward synchronizes gradients.
        """
        raise NotImplementedError

    def evaluate(self, model: torch.nn.Module, batches: Iterable[Any]) -> dict[str, float]:
        """Metrics over the whole val split; must include ``selection_metric``.

        ``model`` is the plain module in eval mode under ``torch.no_grad()``, in float32 (no
        autocast, whatever ``train.precision``); ``batches`` yields collated batches already on the
        device. Runs on rank 0 only. Default: mean losses.
        """
        totals: dict[str, float] = {}
        count = 0
        for batch in batches:
            for name, value in self.compute_losses(model, batch).items():
                totals[name] = totals.get(name, 0.0) + float(value)
            count += 1
        return {name: total / max(count, 1) for name, total in totals.items()}

    # -- resumable state -------------------------------------------------------------------

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """What the task trains or counts outside the model and the trainer's optimizer (a second
        optimizer, a step counter, a generator), as tensors and a JSON-able rest. The trainer
        saves it in every training checkpoint, so that ``--resume`` continues exactly. Default: nothing."""
        return {}, {}

    def load_state(self, tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> None:
        """Restore what :meth:`state` returned; called on ``--resume`` after ``param_groups``."""

    # -- export ----------------------------------------------------------------------------

    def model_config(self) -> Any:
        """The model's Config dataclass written to the export's config.json (default: ``config.model``)."""
        return self.config.model

    def export_state(self, model: torch.nn.Module) -> dict[str, torch.Tensor]:
        """The tensors written to the export's model.safetensors (default: the whole state_dict)."""
        return model.state_dict()

    def export_meta(self) -> dict[str, Any]:
        """Extra provenance for the export's meta.json (task, data, metrics, command, ... are added by the trainer)."""
        return {}
