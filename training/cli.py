"""The flags every training command shares, and their resolution into a :class:`Run`.

``python -m training <task>`` (``training/__main__.py``) and ``python -m training compare-init
<task>`` (``training/compare_init.py``) take the same run flags and resolve them the same way.
Configs resolve in this order, later winning: the dataclass defaults (or, with --resume, the
configs saved in the run's last checkpoint), the --config file, --set overrides, then the named
flags (--epochs).
"""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path

from training import train_state
from training.config import RESUMABLE_CHANGES, TrainConfig
from training.config_io import ConfigError, apply, deep_merge, nest, parse_override, read_config_file, to_dict
from training.tasks import get_task
from training.trainer import Run


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """--data, --out, --config, --epochs, --device, --resume and --set (not the task, not --init)."""
    parser.add_argument("--data", required=True, type=Path, help="the task's data directory")
    parser.add_argument("--out", required=True, type=Path, help="run directory: logs, checkpoints, export/")
    parser.add_argument("--config", type=Path, help="YAML or JSON file with 'train:' and 'task:' sections")
    parser.add_argument("--epochs", type=int, help="overrides train.epochs")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="override one config field, e.g. --set train.lr=1e-3 --set task.model.hidden=64")


def resolve_run(args: argparse.Namespace, command: str) -> Run:
    """Turn parsed flags into a Run; raises ConfigError (or KeyError for an unwritten task)."""
    task_cls = get_task(args.task)
    overrides: dict = {"train": {}, "task": {}}
    if args.config is not None:
        overrides = deep_merge(overrides, read_config_file(args.config))
    for text in args.overrides:
        overrides = deep_merge(overrides, nest(*parse_override(text)))
    if args.epochs is not None:
        overrides = deep_merge(overrides, {"train": {"epochs": args.epochs}})

    saved = _saved_configs(args.out / "checkpoints")
    if not args.resume and has_saved_state(args.out):  # damaged checkpoints count: they are not overwritten
        raise ConfigError(f"{args.out} already holds a training run (checkpoints/); pass --resume to continue it, "
                          "or choose another --out.")
    base_train, base_task = TrainConfig(), task_cls.Config()
    if args.resume and saved is not None:
        base_train = apply(base_train, saved["train"], "train")
        base_task = apply(base_task, saved["task"], "task")
    train = apply(base_train, overrides["train"], "train")
    task_config = apply(base_task, overrides["task"], "task")
    if args.resume and saved is not None:
        _check_resumable(to_dict(base_train), to_dict(train), to_dict(base_task), to_dict(task_config))
    return Run(task_name=args.task, task_cls=task_cls, data_dir=args.data, out_dir=args.out, train=train,
               task_config=task_config, init=args.init, device=args.device, resume=args.resume, command=command)


def has_saved_state(out: Path) -> bool:
    """Whether ``out`` holds a training-state checkpoint (a run that --resume would continue)."""
    return bool(train_state.list_states(Path(out) / "checkpoints"))


def _saved_configs(checkpoints: Path) -> dict | None:
    """The configs recorded in the newest checkpoint whose state.json is valid, if any (the trainer
    verifies the tensors and reports damaged checkpoints when it resumes)."""
    for path in train_state.list_states(checkpoints):
        try:
            return train_state.read_info(path)["config"]
        except train_state.DamagedState:
            continue
    return None


def _check_resumable(saved_train: dict, train: dict, saved_task: dict, task: dict) -> None:
    changed = [f"train.{k}" for k in train if train[k] != saved_train[k] and k not in RESUMABLE_CHANGES]
    changed += [f"task.{k}" for k in task if task[k] != saved_task[k]]
    if changed:
        raise ConfigError(f"--resume would change {', '.join(changed)} from the saved run; only "
                          f"{', '.join(sorted('train.' + k for k in RESUMABLE_CHANGES))} may change when resuming.")


def command_line(argv: list[str]) -> str:
    """The command as typed (torchrun's launcher flags reconstructed from its environment)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size > 1:
        launcher = ["torchrun", "--nproc_per_node", os.environ.get("LOCAL_WORLD_SIZE", str(world_size))]
        nodes = world_size // int(os.environ.get("LOCAL_WORLD_SIZE", str(world_size)))
        if nodes > 1:
            launcher += ["--nnodes", str(nodes)]
        launcher += ["-m", "training"]
    else:
        launcher = ["python", "-m", "training"]
    return shlex.join(launcher + argv)
