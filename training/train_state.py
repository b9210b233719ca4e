"""Training-state checkpoints: written atomically, verified when read, pruned only among good ones.

One checkpoint is a directory ``<out>/checkpoints/step-00000120/`` holding

- ``state.safetensors``: every tensor: ``model.*`` (weights), ``optim.<param index>.<name>``
  (optimizer moments, momentum buffers, step counters), ``rng.rank<r>.<generator>`` (RNG states as uint8),
  ``task.*`` (the task's own state, ``Task.state``);
- ``state.json``: everything else: step, epoch, position in the epoch, best metric so far,
  the optimizer's hyper-parameters and scalar state, numpy/python RNG scalars, the config,
  the rest of the task's state (``task_state``), and the sha256 of ``state.safetensors``.

The directory is filled under a temporary name, fsynced, then renamed into place, so a reader
(or a ``kill -9`` at any moment) sees a complete checkpoint or none. Disks still rot and runs
still diverge, so a checkpoint is used only once it *verifies*: ``state.json`` fits
:data:`SCHEMA`, the tensors file matches its recorded sha256 (safetensors checks its header,
not the data), and every floating tensor is finite. Resuming takes the newest checkpoint that
verifies and reports the damaged newer ones; when none verifies it stops (:class:`NoUsableState`)
and touches nothing. After a save, the new checkpoint is read back and verified before any
other is pruned; pruning keeps the new one plus the newest ``keep - 1`` others that verify and
deletes only older ones that verify. A damaged checkpoint is never deleted: the first save
that meets it renames it ``<name>.damaged`` (out of the way of resuming and of a re-save of
the same step), for a person to inspect and remove. Only our own trainer writes and reads
these; the app loads the export format of ``mmdemo.checkpoint`` instead.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from mmdemo.checkpoint import fsync_path, replace_dir, write_json
from mmdemo.digest import file_sha256

TENSORS_FILE = "state.safetensors"
INFO_FILE = "state.json"
CHECKSUM_KEY = "tensors_sha256"  # the key save_state adds to state.json
DAMAGED_SUFFIX = ".damaged"
_NAME = re.compile(r"^step-(\d{8,})$")

# What state.json must hold: a type, a (type, type) choice, a dict of required keys, or a list
# of items of one spec. Extra keys are allowed. The trainer's _restore relies on all of these.
SCHEMA: dict[str, Any] = {
    "format": int, "task": str, "step": int, "epoch": int, "batches_done": int, "best": (dict, type(None)),
    "last_metrics": dict, "csv_rows": int, "world_size": int, "config": {"train": dict, "task": dict},
    "optimizer": {"param_groups": [dict], "scalars": dict, "indices": [int]},
    "rng": [{"python_version": int, "python_gauss": (float, type(None)), "numpy_kind": str, "numpy_pos": int,
             "numpy_has_gauss": int, "numpy_gauss": float}],
    "log_window": [{"steps": int, "sums": list}], "task_state": dict, CHECKSUM_KEY: str,
}


class StateError(Exception):
    """A training-state problem that stops the run with a one-line message (``python -m training``)."""


class DamagedState(StateError):
    """A checkpoint that does not verify; ``reason`` says why for a person."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason
        self.moved_to: Path | None = None  # where save_state set it aside, if it did


class NoUsableState(StateError):
    """Checkpoints exist but none verifies; nothing was changed on disk."""


# ---------------------------------------------------------------------------------------------
# Writing, finding and verifying checkpoints


def save_state(root: str | Path, step: int, tensors: dict[str, torch.Tensor], info: dict[str, Any],
               keep: int = 2) -> list[DamagedState]:
    """Write checkpoint ``step`` under ``root`` atomically, verify it, then prune; returns the damaged
    checkpoints it met and renamed ``<name>.damaged``. DamagedState if the new one does not verify."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:08d}"
    staging = root / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    set_aside = []
    try:
        plain = {name: t.detach().to("cpu").contiguous().clone() for name, t in tensors.items()}
        save_file(plain, str(staging / TENSORS_FILE))
        fsync_path(staging / TENSORS_FILE)
        info = {**info, CHECKSUM_KEY: file_sha256(staging / TENSORS_FILE)}
        _check_schema(info, step)  # a trainer that writes what it could not read back fails here, not at resume
        write_json(staging / INFO_FILE, info)
        fsync_path(staging)
        if final.exists():  # the same step saved twice: a resumed run re-saving a step it skipped as damaged
            set_aside += _set_aside_if_damaged([final])
        replace_dir(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        load_state(final)  # read back: nothing is pruned unless the new checkpoint verifies
    except DamagedState as error:
        raise DamagedState(final, f"{error.reason}, right after it was written; no checkpoint was pruned") from None
    return set_aside + _prune(root, final, keep)


def list_states(root: str | Path) -> list[Path]:
    """Checkpoint directories under ``root``, newest step first (temporary and set-aside ones are ignored)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def find_resumable(root: str | Path) -> tuple[tuple[Path, dict[str, torch.Tensor], dict[str, Any]] | None,
                                              list[DamagedState]]:
    """The newest checkpoint that verifies (None when there are no checkpoints at all) and the
    damaged newer ones skipped on the way. NoUsableState when none verifies; nothing is touched."""
    damaged = []
    for path in list_states(root):
        try:
            return (path, *load_state(path)), damaged
        except DamagedState as error:
            damaged.append(error)
    if damaged:
        reasons = "; ".join(f"{error.path.name}: {error.reason}" for error in damaged)
        raise NoUsableState(f"cannot resume: none of the {len(damaged)} checkpoints under {root} verifies ({reasons}); "
                            "nothing was deleted. Inspect them, or start a new run with another --out.")
    return None, []


def load_latest(root: str | Path) -> tuple[Path, dict[str, torch.Tensor], dict[str, Any]] | None:
    """The newest checkpoint that verifies, or None when there is none (see :func:`find_resumable`)."""
    return find_resumable(root)[0]


def load_state(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A checkpoint's tensors and info once it verifies; DamagedState (naming it and why) otherwise."""
    path = Path(path)
    info = read_info(path)
    if not (path / TENSORS_FILE).is_file():
        raise DamagedState(path, f"{TENSORS_FILE} is missing")
    if file_sha256(path / TENSORS_FILE) != info[CHECKSUM_KEY]:
        raise DamagedState(path, f"{TENSORS_FILE} does not match the sha256 recorded in {INFO_FILE} "
                                 "(its bytes changed after it was written)")
    try:
        tensors = load_file(str(path / TENSORS_FILE))
    except Exception as error:  # safetensors raises its own error type for a damaged file
        raise DamagedState(path, f"{TENSORS_FILE} is not readable ({error})") from None
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise DamagedState(path, f"tensor {name!r} has {bad} non-finite value(s) (NaN or inf)")
    return tensors, info


def read_info(path: str | Path) -> dict[str, Any]:
    """A checkpoint's ``state.json``, checked against :data:`SCHEMA` (the tensors are not read)."""
    path = Path(path)
    try:
        info = json.loads((path / INFO_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DamagedState(path, f"{INFO_FILE} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DamagedState(path, f"{INFO_FILE} is not valid JSON ({error})") from None
    m = _NAME.match(path.name)
    try:
        _check_schema(info, int(m.group(1)) if m else None)
    except ValueError as error:
        raise DamagedState(path, str(error)) from None
    return info


def _check_schema(info: Any, step: int | None) -> None:
    _check(info, SCHEMA, INFO_FILE)
    if step is not None and info["step"] != step:
        raise ValueError(f"{INFO_FILE} says step {info['step']} but the directory is step {step}")
    for key in ("rng", "log_window"):
        if len(info[key]) != info["world_size"]:
            raise ValueError(f"{INFO_FILE}[{key!r}] has {len(info[key])} entries for world_size {info['world_size']}")


def _check(value: Any, spec: Any, where: str) -> None:
    """ValueError naming ``where`` unless ``value`` fits ``spec`` (see :data:`SCHEMA`)."""
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise ValueError(f"{where} should be an object, not {type(value).__name__}")
        for key, item_spec in spec.items():
            if key not in value:
                raise ValueError(f"{where} has no {key!r}")
            _check(value[key], item_spec, f"{where}[{key!r}]")
    elif isinstance(spec, list):
        if not isinstance(value, list):
            raise ValueError(f"{where} should be a list, not {type(value).__name__}")
        for index, item in enumerate(value):
            _check(item, spec[0], f"{where}[{index}]")
    else:
        kinds = spec if isinstance(spec, tuple) else (spec,)
        if isinstance(value, bool) or not isinstance(value, kinds):  # bool is an int to Python, not to us
            names = " or ".join("null" if kind is type(None) else kind.__name__ for kind in kinds)
            raise ValueError(f"{where} should be {names}, not {type(value).__name__}")


def _prune(root: Path, newest: Path, keep: int) -> list[DamagedState]:
    """Keep ``newest`` and the newest ``keep - 1`` others that verify; delete older ones that verify;
    set damaged ones aside. Returns the damaged ones."""
    others = [path for path in list_states(root) if path != newest]  # newest step first
    set_aside = _set_aside_if_damaged(others)
    good = [path for path in others if path.exists()]
    for old in good[max(keep - 1, 0):]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in root.iterdir():  # leftovers of writers that were killed mid-write
        if stale.name.startswith((".tmp-", ".old-")) and not stale.name.endswith(f"-{os.getpid()}"):
            shutil.rmtree(stale, ignore_errors=True)
    return set_aside


def _set_aside_if_damaged(paths: list[Path]) -> list[DamagedState]:
    """Rename each of ``paths`` that does not verify to ``<name>.damaged`` (or ``.damaged-2``...)."""
    damaged = []
    for path in paths:
        try:
            load_state(path)
        except DamagedState as error:
            target, n = path.with_name(path.name + DAMAGED_SUFFIX), 1
            while target.exists():
                n += 1
                target = path.with_name(f"{path.name}{DAMAGED_SUFFIX}-{n}")
            os.replace(path, target)
            error.moved_to = target
            damaged.append(error)
    return damaged


# ---------------------------------------------------------------------------------------------
# Optimizer state <-> (tensors, JSON)


def flatten_optimizer(state_dict: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split ``optimizer.state_dict()`` into safetensors-ready tensors and JSON-able rest."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entries in state_dict["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    info = {"param_groups": state_dict["param_groups"], "scalars": scalars,
            "indices": [int(i) for i in state_dict["state"]]}
    return tensors, json.loads(json.dumps(info))


def unflatten_optimizer(tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`flatten_optimizer`, ready for ``optimizer.load_state_dict``."""
    state: dict[int, dict[str, Any]] = {int(i): {} for i in info["indices"]}
    for name, tensor in tensors.items():
        if name.startswith("optim."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = tensor
    for index, entries in info["scalars"].items():
        state.setdefault(int(index), {}).update(entries)
    groups = [{key: tuple(value) if isinstance(value, list) and key != "params" else value
               for key, value in group.items()} for group in info["param_groups"]]
    return {"state": state, "param_groups": groups}


# ---------------------------------------------------------------------------------------------
# RNG state <-> (uint8 tensors, JSON)


def capture_rng(device: torch.device) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """This process's python, numpy, torch (and CUDA) generator states."""
    version, words, gauss = random.getstate()
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    tensors = {
        "python": torch.from_numpy(np.asarray(words, dtype=np.uint32).view(np.uint8).copy()),
        "numpy": torch.from_numpy(np.asarray(np_keys, dtype=np.uint32).view(np.uint8).copy()),
        "torch": torch.get_rng_state(),
    }
    if device.type == "cuda":
        tensors["cuda"] = torch.cuda.get_rng_state(device)
    info = {"python_version": version, "python_gauss": gauss, "numpy_kind": np_kind,
            "numpy_pos": int(np_pos), "numpy_has_gauss": int(np_has_gauss), "numpy_gauss": float(np_gauss)}
    return tensors, info


def restore_rng(tensors: dict[str, torch.Tensor], info: dict[str, Any], device: torch.device) -> None:
    words = tuple(int(w) for w in tensors["python"].numpy().view(np.uint32))
    random.setstate((info["python_version"], words, info["python_gauss"]))
    np_keys = tensors["numpy"].numpy().view(np.uint32).copy()
    np.random.set_state((info["numpy_kind"], np_keys, info["numpy_pos"], info["numpy_has_gauss"], info["numpy_gauss"]))
    torch.set_rng_state(tensors["torch"])
    if device.type == "cuda" and "cuda" in tensors:
        torch.cuda.set_rng_state(tensors["cuda"], device)
