"""The one training loop every task shares.

``fit(run)`` trains ``run.task`` and writes, on rank 0 only::

    <out>/run.json            the resolved configs, command, data dir, init, world size
    <out>/metrics.csv         long format: time,step,epoch,split,name,value
    <out>/tb/                 TensorBoard events (if tensorboard is installed)
    <out>/checkpoints/step-N/ training state (state.safetensors + state.json), newest `keep_checkpoints`
                              that verify; damaged ones are renamed step-N.damaged, never deleted
    <out>/export/             the best epoch by the task's selection metric (final weights if no val)
    <out>/export-final/       the weights after the last step
    <out>/summary.json        status, steps, best, final metrics, throughput, per-rank parameter hashes

Under ``torchrun`` every rank runs this same loop on its shard (DistributedSampler) and DDP
averages gradients; rank 0 alone evaluates, logs and writes. The loop, per optimizer step:
set the lr from the schedule, run ``grad_accum`` micro-batches (gradient sync only on the
last, via ``no_sync``), clip, step the optimizer (AdamW, or SGD with momentum). Per epoch:
evaluate, export if best, checkpoint.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import random
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, Sampler
from tqdm.auto import tqdm

from mmdemo.checkpoint import save_checkpoint, sweep_staging
from training import distributed, train_state
from training.config import TrainConfig
from training.config_io import to_dict
from training.metrics_log import MetricsLog
from training.schedule import lr_factor, warmup_steps
from training.task import Task

STATE_FORMAT = 1


@dataclass
class Run:
    """Everything one invocation of ``python -m training`` resolved from its command line."""

    task_name: str
    task_cls: type[Task]
    data_dir: Path
    out_dir: Path
    train: TrainConfig = field(default_factory=TrainConfig)
    task_config: Any = None  # the task's Config instance; None: its defaults
    init: str = "pretrained"  # "pretrained" | "scratch", passed to Task.build_model
    device: str | None = None  # "cpu" | "cuda" | None (CUDA when available)
    resume: bool = False
    command: str = ""  # the exact command line, recorded in the export's meta

    def configs(self) -> dict[str, Any]:
        return {"train": to_dict(self.train), "task": to_dict(self.task_config)}


def fit(run: Run) -> dict[str, Any]:
    """Train (or resume) one run; returns the summary that rank 0 also writes to summary.json."""
    env = distributed.setup(run.device)
    try:
        return Trainer(run, env).fit()
    finally:
        distributed.teardown(env)


def build_optimizer(param_groups: list[dict[str, Any]], cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW, or SGD with momentum (the scene paper's, section 3); groups carry their own weight decay."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(param_groups, lr=cfg.lr, momentum=cfg.momentum)
    return torch.optim.AdamW(param_groups, lr=cfg.lr, betas=cfg.betas)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def to_device(batch: Any, device: torch.device) -> Any:
    """Move the tensors inside a batch (tensor, dict, list, tuple, dataclass) to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {key: to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(to_device(value, device) for value in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(value, device) for value in batch)
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        return dataclasses.replace(batch, **{f.name: to_device(getattr(batch, f.name), device)
                                             for f in dataclasses.fields(batch) if f.init})
    return batch


class ResumableSampler(Sampler[int]):
    """A DistributedSampler (shuffled by seed + epoch) that can start part-way into an epoch.

    ``set_epoch(epoch, skip)`` drops the first ``skip`` indices of this rank's order, so a
    resumed run sees exactly the batches the interrupted one had not reached, without loading
    the skipped ones.
    """

    def __init__(self, dataset, world_size: int, rank: int, seed: int):
        self.inner = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.inner.set_epoch(epoch)
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        return iter(list(self.inner)[self.skip:])

    def __len__(self) -> int:
        return max(0, len(self.inner) - self.skip)


class Trainer:
    def __init__(self, run: Run, env: distributed.DistEnv):
        self.run, self.env, self.cfg = run, env, run.train
        self.task = run.task_cls(run.task_config if run.task_config is not None else run.task_cls.Config())
        self.run.task_config = self.task.config
        self.out = Path(run.out_dir)
        self.ckpt_dir = self.out / "checkpoints"
        cfg = self.cfg

        seed_everything(cfg.seed)  # model init depends on the seed alone, not on rank or world size
        self.model = self.task.build_model(run.init).to(env.device)
        self.train_set, self.val_set = self.task.build_datasets(Path(run.data_dir))
        self.optimizer = build_optimizer(self.task.param_groups(self.model, cfg), cfg)
        self.ddp = None
        if env.distributed:
            device_ids = [env.device.index] if env.device.type == "cuda" else None
            self.ddp = DistributedDataParallel(self.model, device_ids=device_ids,
                                               find_unused_parameters=self.task.find_unused_parameters)
        self.sampler = ResumableSampler(self.train_set, env.world_size, env.rank, cfg.seed)
        self.batches_per_epoch = math.ceil(len(self.sampler.inner) / cfg.batch_size)
        if self.batches_per_epoch == 0:
            raise ValueError(f"Task {run.task_name!r}: the training split under {run.data_dir} is empty.")
        self.steps_per_epoch = math.ceil(self.batches_per_epoch / cfg.grad_accum)
        self.total_steps = cfg.epochs * self.steps_per_epoch
        self.warmup = warmup_steps(self.total_steps, cfg.warmup_steps, cfg.warmup_ratio)
        self.milestones = [epoch * self.steps_per_epoch for epoch in cfg.step_epochs]  # the "step" schedule's
        bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and env.device.type == "cuda")
        self.autocast = torch.autocast(device_type=env.device.type, dtype=torch.bfloat16, enabled=bf16)

        # Position: optimizer steps taken, the epoch in progress, micro-batches of it consumed.
        self.step, self.epoch, self.batches_done = 0, 0, 0
        self.best: dict[str, Any] | None = None
        # Train metrics summed over the steps since the last train row (part of the state, so a
        # resumed run logs the same averages as an uninterrupted one).
        self.window: dict[str, torch.Tensor] = {}
        self.window_steps = 0
        self.last_metrics: dict[str, float] = {}
        csv_rows = 0
        seed_everything(cfg.seed + env.rank)  # the training stream (dropout, augmentation) per rank
        if run.resume:
            found, damaged = train_state.find_resumable(self.ckpt_dir)  # NoUsableState when none verifies
            for error in damaged:
                self._say(f"WARNING: skipping damaged checkpoint {error.path}: {error.reason}. "
                          "It is left on disk for inspection.")
            if found is None:
                self._say(f"--resume: no checkpoint under {self.ckpt_dir}; starting from scratch.")
            else:
                csv_rows = self._restore(*found)
        if env.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            for export in ("export", "export-final"):  # staging folders of an export killed midway
                sweep_staging(self.out / export)
        self.log = MetricsLog(self.out, keep_rows=csv_rows) if env.is_main else None
        self.train_seconds, self.samples_seen = 0.0, 0

    # -- the loop --------------------------------------------------------------------------

    def fit(self) -> dict[str, Any]:
        cfg, env = self.cfg, self.env
        if env.is_main:
            _write_json(self.out / "run.json", {
                "task": self.run.task_name, "data": str(Path(self.run.data_dir).resolve()), "init": self.run.init,
                "command": self.run.command, "world_size": env.world_size, "device": str(env.device),
                "config": self.run.configs()})
        bar = tqdm(total=self.total_steps, initial=self.step, disable=not env.is_main, dynamic_ncols=True,
                   desc=self.run.task_name, file=sys.stderr)
        status = "finished"
        try:
            while self.epoch < cfg.epochs:
                if not self._train_epoch(bar):
                    status = "stopped"
                    break
                self._end_epoch(bar)
        finally:
            bar.close()
        if status == "finished":
            self._export(self.out / "export-final", self.last_metrics, selected="final")
            if self.best is None and env.is_main:  # no evaluation: the final weights are the export
                self._export(self.out / "export", self.last_metrics, selected="final")
        summary = self._summary(status)
        if self.log is not None:
            self.log.close()
        return summary

    def _train_epoch(self, bar: tqdm) -> bool:
        """Train the rest of ``self.epoch``; False if stopped early by ``stop_after_steps``."""
        cfg, env = self.cfg, self.env
        model = self.ddp or self.model
        model.train()
        self.sampler.set_epoch(self.epoch, skip=self.batches_done * cfg.batch_size)
        if hasattr(self.train_set, "set_epoch"):  # datasets whose augmentation varies by epoch
            self.train_set.set_epoch(self.epoch)
        loader = DataLoader(self.train_set, batch_size=cfg.batch_size, sampler=self.sampler,
                            collate_fn=self.task.collate, num_workers=cfg.num_workers,
                            pin_memory=env.device.type == "cuda",
                            # a private generator, so building the loader draws nothing from the global RNG
                            generator=torch.Generator().manual_seed(cfg.seed * 1_000_003 + self.epoch))
        batches = iter(loader)
        while self.batches_done < self.batches_per_epoch:
            started = time.perf_counter()
            micro = min(cfg.grad_accum, self.batches_per_epoch - self.batches_done)
            lr = cfg.lr * lr_factor(self.step, self.total_steps, self.warmup, cfg.schedule, cfg.min_lr_ratio,
                                    self.milestones, cfg.step_gamma, cfg.poly_power)
            for group in self.optimizer.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
            for index in range(micro):
                batch = to_device(next(batches), env.device)
                self.samples_seen += _batch_size(batch) * env.world_size
                last = index == micro - 1
                with (self.ddp.no_sync() if self.ddp is not None and not last else nullcontext()):
                    with self.autocast:
                        losses = self.task.compute_losses(model, batch)
                    (losses["loss"] / micro).backward()
                for name, value in losses.items():
                    self._accumulate(name, torch.as_tensor(value).detach().float() / micro)
            if cfg.clip_grad_norm > 0:
                norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip_grad_norm)
                self._accumulate("grad_norm", norm.detach().float())
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.step += 1
            self.batches_done += micro
            self.window_steps += 1
            self.train_seconds += time.perf_counter() - started
            bar.update(1)

            if self.step % cfg.log_every == 0 or self.batches_done == self.batches_per_epoch:
                values = {name: float(total) / self.window_steps for name, total in self.window.items()}
                values = distributed.mean_across_ranks(self.env, values)
                values["lr"] = lr
                if self.log is not None:
                    self.log.log(self.step, self.epoch, "train", values)
                bar.set_postfix(epoch=self.epoch, loss=f"{values['loss']:.4f}", lr=f"{lr:.2e}")
                self.window, self.window_steps = {}, 0
            if cfg.stop_after_steps and self.step == cfg.stop_after_steps:
                self._save_state()
                self._say(f"Stopped after step {self.step} (train.stop_after_steps); continue with --resume.")
                return False
            mid_epoch = self.batches_done < self.batches_per_epoch  # epoch ends checkpoint after evaluating
            if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0 and mid_epoch:
                self._save_state()
        return True

    def _end_epoch(self, bar: tqdm) -> None:
        """Evaluate (rank 0), export if best, then checkpoint the start of the next epoch."""
        cfg = self.cfg
        finished = self.epoch + 1
        due = cfg.eval_every_epoch > 0 and (finished % cfg.eval_every_epoch == 0 or finished == cfg.epochs)
        if due and self.val_set is not None and self.env.is_main:
            metrics = self.evaluate()
            self.last_metrics = metrics
            self.log.log(self.step, self.epoch, "val", metrics)
            bar.write(f"epoch {self.epoch}: " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()))
            if self._improves(metrics):
                self.best = {"epoch": self.epoch, "step": self.step, "value": metrics[self.task.selection_metric],
                             "metrics": metrics}
                self._export(self.out / "export", metrics, selected="best")
        self.epoch, self.batches_done = finished, 0
        self._save_state()

    def _accumulate(self, name: str, value: torch.Tensor) -> None:
        self.window[name] = self.window[name] + value if name in self.window else value

    def evaluate(self) -> dict[str, float]:
        loader = DataLoader(self.val_set, batch_size=self.cfg.eval_batch_size or self.cfg.batch_size,
                            shuffle=False, collate_fn=self.task.collate, num_workers=self.cfg.num_workers)
        self.model.eval()
        try:
            # float32, autocast off whatever train.precision: the metrics that pick the export are
            # the export's as mmdemo serves it, and no bf16 tensor reaches a task's numpy or metric code
            with torch.no_grad():
                metrics = self.task.evaluate(self.model, (to_device(b, self.env.device) for b in loader))
        finally:
            self.model.train()
        metrics = {name: float(value) for name, value in metrics.items()}
        if self.task.selection_metric not in metrics:
            raise KeyError(f"Task {self.run.task_name!r}: evaluate() returned {sorted(metrics)}, "
                           f"without its selection metric {self.task.selection_metric!r}.")
        return metrics

    def _improves(self, metrics: dict[str, float]) -> bool:
        value = metrics[self.task.selection_metric]
        if self.best is None:
            return True
        return value > self.best["value"] if self.task.selection_mode == "max" else value < self.best["value"]

    # -- checkpoints and export ------------------------------------------------------------

    def _save_state(self) -> None:
        """Checkpoint the training state; a collective (every rank hands over its RNG state and log window)."""
        window = {"steps": self.window_steps, "sums": [[name, float(v)] for name, v in self.window.items()]}
        per_rank = distributed.all_gather_object(self.env, (train_state.capture_rng(self.env.device), window))
        rng = [rank_rng for rank_rng, _ in per_rank]
        if not self.env.is_main:
            return
        tensors = {f"model.{name}": t for name, t in self.model.state_dict().items()}
        optim_tensors, optim_info = train_state.flatten_optimizer(self.optimizer.state_dict())
        tensors.update(optim_tensors)
        for rank, (rng_tensors, _) in enumerate(rng):
            tensors.update({f"rng.rank{rank}.{name}": t for name, t in rng_tensors.items()})
        task_tensors, task_info = self.task.state()
        tensors.update({f"task.{name}": t for name, t in task_tensors.items()})
        self.log.flush()
        info = {
            "format": STATE_FORMAT, "task": self.run.task_name, "step": self.step, "epoch": self.epoch,
            "batches_done": self.batches_done, "best": self.best, "last_metrics": self.last_metrics,
            "csv_rows": self.log.rows, "world_size": self.env.world_size, "config": self.run.configs(),
            "optimizer": optim_info, "rng": [rng_info for _, rng_info in rng],
            "log_window": [rank_window for _, rank_window in per_rank], "task_state": task_info,
        }
        for error in train_state.save_state(self.ckpt_dir, self.step, tensors, info, keep=self.cfg.keep_checkpoints):
            self._say(f"WARNING: renamed damaged checkpoint {error.path} to {error.moved_to.name} for inspection "
                      f"(delete it when done): {error.reason}.")

    def _restore(self, path: Path, tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> int:
        """Load a training state into this (freshly built) trainer; returns the CSV rows to keep."""
        if info.get("format") != STATE_FORMAT or info.get("task") != self.run.task_name:
            raise ValueError(f"{path} is not a {self.run.task_name!r} training state of format {STATE_FORMAT}.")
        weights = {name[len("model."):]: t for name, t in tensors.items() if name.startswith("model.")}
        self.model.load_state_dict(weights, strict=True)
        self.optimizer.load_state_dict(train_state.unflatten_optimizer(tensors, info["optimizer"]))
        self.task.load_state({name[len("task."):]: t for name, t in tensors.items() if name.startswith("task.")},
                             info.get("task_state", {}))
        self.step, self.epoch, self.batches_done = info["step"], info["epoch"], info["batches_done"]
        self.best, self.last_metrics = info["best"], info.get("last_metrics", {})
        prefix = f"rng.rank{self.env.rank}."
        if info["world_size"] == self.env.world_size:
            rng_tensors = {name[len(prefix):]: t for name, t in tensors.items() if name.startswith(prefix)}
            train_state.restore_rng(rng_tensors, info["rng"][self.env.rank], self.env.device)
            window = info["log_window"][self.env.rank]
            self.window_steps = window["steps"]
            self.window = {name: torch.tensor(value, dtype=torch.float32, device=self.env.device)
                           for name, value in window["sums"]}
        else:
            self._say(f"Resuming a {info['world_size']}-process run on {self.env.world_size}: "
                      "data order and RNG streams differ from an uninterrupted run.")
            seed_everything(self.cfg.seed + self.env.rank + self.step)
        self._say(f"Resumed from {path} (epoch {self.epoch}, step {self.step}).")
        return info["csv_rows"]

    def _export(self, path: Path, metrics: dict[str, float], selected: str) -> None:
        if not self.env.is_main:
            return
        meta = {
            "task": self.run.task_name, "data": str(Path(self.run.data_dir).resolve()), "metrics": metrics,
            "command": self.run.command, "init": self.run.init, "seed": self.cfg.seed,
            "selected": selected, "epoch": self.epoch if selected == "final" else self.best["epoch"],
            "step": self.step, "selection": {"metric": self.task.selection_metric, "mode": self.task.selection_mode},
            "world_size": self.env.world_size, "config": self.run.configs(), **self.task.export_meta(),
        }
        save_checkpoint(path, self.task.export_state(self.model), family=self.task.family,
                        config=self.task.model_config(), meta=meta)

    def _summary(self, status: str) -> dict[str, Any]:
        hashes = distributed.all_gather_object(self.env, parameter_hash(self.model))
        summary = {
            "status": status, "task": self.run.task_name, "step": self.step, "epoch": self.epoch,
            "total_steps": self.total_steps, "best": self.best, "last_metrics": self.last_metrics,
            "world_size": self.env.world_size, "train_seconds": round(self.train_seconds, 3),
            "samples_per_second": round(self.samples_seen / self.train_seconds, 2) if self.train_seconds else None,
            "param_sha256_per_rank": hashes, "ranks_in_sync": len(set(hashes)) == 1,
        }
        if self.env.is_main:
            _write_json(self.out / "summary.json", summary)
            if not summary["ranks_in_sync"]:
                self._say("WARNING: parameters differ across ranks; see summary.json.")
        return summary

    def _say(self, message: str) -> None:
        if self.env.is_main:
            tqdm.write(message, file=sys.stderr)


def parameter_hash(model: torch.nn.Module) -> str:
    """sha256 over every state tensor's name and bytes: equal hashes mean identical models."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _batch_size(batch: Any) -> int:
    """Items in a batch: the leading dimension of its first tensor."""
    if isinstance(batch, torch.Tensor):
        return batch.shape[0] if batch.dim() else 1
    values = batch.values() if isinstance(batch, dict) else batch if isinstance(batch, (list, tuple)) else \
        [getattr(batch, f.name) for f in dataclasses.fields(batch)] if dataclasses.is_dataclass(batch) else []
    for value in values:
        size = _batch_size(value)
        if size:
            return size
    return 0


def _write_json(path: Path, data: Any) -> None:
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(staging, path)
