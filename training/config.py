"""The settings of one training run: the loop's own (TrainConfig) beside the task's.

A config file maps onto ``{"train": TrainConfig, "task": <the task's Config>}``; every field
has a default, so an empty file (or none) is a valid run. See ``training/config_io.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEDULES = ("cosine", "linear", "constant", "step", "poly")
OPTIMIZERS = ("adamw", "sgd")
PRECISIONS = ("auto", "bf16", "fp32")


@dataclass
class TrainConfig:
    """How to optimize; nothing here knows about a particular model or dataset."""

    epochs: int = 10
    batch_size: int = 32  # per process and micro-step; effective = batch_size * grad_accum * world size
    eval_batch_size: int = 0  # 0: same as batch_size
    optimizer: str = "adamw"  # adamw | sgd (SGD with momentum)
    lr: float = 3e-4  # peak learning rate, reached after warmup
    weight_decay: float = 0.01  # either optimizer; never applied to biases and norm weights (1-D tensors)
    betas: tuple[float, float] = (0.9, 0.999)  # AdamW only
    momentum: float = 0.9  # SGD only
    warmup_steps: int = 0  # linear warmup in optimizer steps; 0: use warmup_ratio
    warmup_ratio: float = 0.0  # fraction of all optimizer steps spent warming up
    schedule: str = "cosine"  # after warmup: cosine | linear | constant | step | poly
    min_lr_ratio: float = 0.0  # the floor that cosine/linear/poly decay to, as a fraction of lr
    # "step": lr multiplied by step_gamma at the start of each of these epochs (0-based, so 5
    # means after five epochs). Defaults: Okazaki et al. (scene classification), section 3,
    # "the learning rate is divided by 10 when the training model reached 5 epoch, 10 epoch
    # and 15 epoch".
    step_epochs: tuple[int, ...] = (5, 10, 15)
    step_gamma: float = 0.1
    # "poly": lr * (1 - progress) ** poly_power. Default: "pretrained vs scratch" (HRNet part),
    # section 3.1.2, eq. 1: lr = 0.01 (1 - epoch / 484) ** 0.9.
    poly_power: float = 0.9
    grad_accum: int = 1  # micro-batches per optimizer step
    clip_grad_norm: float = 1.0  # max global gradient norm; 0: no clipping
    seed: int = 0
    # Training forward passes: "bf16" autocasts to bfloat16 (on CPU too: slow, but it lets tests
    # catch bf16 bugs without a GPU), "fp32" never, "auto" bf16 on CUDA and fp32 on CPU.
    precision: str = "auto"
    log_every: int = 10  # optimizer steps between train-metric rows
    checkpoint_every: int = 500  # optimizer steps between training-state checkpoints; 0: only at epoch ends (always)
    keep_checkpoints: int = 2  # training-state checkpoints kept on disk (newest first)
    num_workers: int = 0  # DataLoader worker processes
    eval_every_epoch: int = 1  # evaluate on val every N epochs and after the last; 0: never
    stop_after_steps: int = 0  # stop (checkpointed, no export) when the step count reaches this, as if interrupted; 0: off

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"train.schedule must be one of {', '.join(SCHEDULES)}; got {self.schedule!r}.")
        if self.precision not in PRECISIONS:
            raise ValueError(f"train.precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"train.optimizer must be one of {', '.join(OPTIMIZERS)}; got {self.optimizer!r}.")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"train.momentum must be in [0, 1); got {self.momentum}.")
        if any(epoch < 1 for epoch in self.step_epochs) or list(self.step_epochs) != sorted(set(self.step_epochs)):
            raise ValueError(f"train.step_epochs must be increasing epochs of at least 1; got {list(self.step_epochs)}.")
        if self.poly_power <= 0:
            raise ValueError(f"train.poly_power must be positive; got {self.poly_power}.")
        if not 0.0 < self.step_gamma <= 1.0:
            raise ValueError(f"train.step_gamma must be in (0, 1]; got {self.step_gamma}.")
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "grad_accum": self.grad_accum,
                    "log_every": self.log_every, "keep_checkpoints": self.keep_checkpoints}
        for name, value in positive.items():
            if value < 1:
                raise ValueError(f"train.{name} must be at least 1; got {value}.")
        non_negative = {"eval_batch_size": self.eval_batch_size, "warmup_steps": self.warmup_steps,
                        "checkpoint_every": self.checkpoint_every, "num_workers": self.num_workers,
                        "eval_every_epoch": self.eval_every_epoch, "stop_after_steps": self.stop_after_steps,
                        "lr": self.lr, "weight_decay": self.weight_decay, "clip_grad_norm": self.clip_grad_norm}
        for name, value in non_negative.items():
            if value < 0:
                raise ValueError(f"train.{name} must not be negative; got {value}.")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ValueError(f"train.warmup_ratio must be in [0, 1); got {self.warmup_ratio}.")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"train.min_lr_ratio must be in [0, 1]; got {self.min_lr_ratio}.")


# Fields a resumed run may change; anything else would make "resume" a different run.
RESUMABLE_CHANGES = frozenset({"epochs", "stop_after_steps", "log_every", "checkpoint_every",
                               "keep_checkpoints", "num_workers", "eval_batch_size", "eval_every_epoch"})
