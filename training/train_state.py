"""Training-state checkpoints: written atomically, read back without pickle.

One checkpoint is a directory ``<out>/checkpoints/step-00000120/`` holding

- ``state.safetensors``: every tensor: ``model.*`` (weights), ``optim.<param index>.<name>``
  (optimizer moments, momentum buffers, step counters), ``rng.rank<r>.<generator>`` (RNG states as uint8),
  ``task.*`` (the task's own state, ``Task.state``);
- ``state.json``: everything else: step, epoch, position in the epoch, best metric so far,
  the optimizer's hyper-parameters and scalar state, numpy/python RNG scalars, the config,
  the rest of the task's state (``task_state``).

The directory is filled under a temporary name, fsynced, then renamed into place, so a reader
(or a ``kill -9`` at any moment) sees a complete checkpoint or none; older ones are pruned
only after the new one exists. Only our own trainer writes and reads these; the app loads the
export format of ``mmdemo.checkpoint`` instead.
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

TENSORS_FILE = "state.safetensors"
INFO_FILE = "state.json"
_NAME = re.compile(r"^step-(\d{8,})$")


# ---------------------------------------------------------------------------------------------
# Writing and finding checkpoints


def save_state(root: str | Path, step: int, tensors: dict[str, torch.Tensor], info: dict[str, Any], keep: int = 2) -> Path:
    """Write checkpoint ``step`` under ``root`` atomically, then keep only the newest ``keep``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:08d}"
    staging = root / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        plain = {name: t.detach().to("cpu").contiguous().clone() for name, t in tensors.items()}
        save_file(plain, str(staging / TENSORS_FILE))
        fsync_path(staging / TENSORS_FILE)
        write_json(staging / INFO_FILE, info)
        fsync_path(staging)
        replace_dir(staging, final)  # the same step saved twice (a resumed run) swaps without a gap
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _prune(root, keep)
    return final


def list_states(root: str | Path) -> list[Path]:
    """Complete checkpoints under ``root``, newest first (temporary directories are ignored)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def load_latest(root: str | Path) -> tuple[Path, dict[str, torch.Tensor], dict[str, Any]] | None:
    """The newest checkpoint that reads back cleanly, or None; unreadable ones are skipped."""
    for path in list_states(root):
        try:
            tensors, info = load_state(path)
        except (OSError, ValueError, RuntimeError):
            continue
        return path, tensors, info
    return None


def load_state(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    path = Path(path)
    info = json.loads((path / INFO_FILE).read_text(encoding="utf-8"))
    try:
        tensors = load_file(str(path / TENSORS_FILE))
    except Exception as error:  # safetensors raises its own error type for a damaged file
        raise ValueError(f"{path / TENSORS_FILE} is not readable: {error}") from None
    return tensors, info


def _prune(root: Path, keep: int) -> None:
    for old in list_states(root)[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in root.iterdir():  # leftovers of writers that were killed mid-write
        if stale.name.startswith((".tmp-", ".old-")) and not stale.name.endswith(f"-{os.getpid()}"):
            shutil.rmtree(stale, ignore_errors=True)




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
