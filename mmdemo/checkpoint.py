"""The export format every trainer writes and the app loads.

An export is a directory of exactly three files:

- ``config.json``: ``{"format_version", "family", "config": {...}}``: which model to build and
  the fields of its Config dataclass;
- ``model.safetensors``: the weights (tensors only, so loading can never run code);
- ``meta.json``: provenance: task, training data, metrics, command, date.

Pickle-based files (``.bin``, ``.pt``, ``.pth``, ``.ckpt``, ``.pkl``) are refused outright,
never opened: a checkpoint may come from a user, and unpickling runs arbitrary code.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from mmdemo.config_dicts import ConfigError, from_dict
from mmdemo.errors import InputError

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


class CheckpointError(InputError):
    """A checkpoint directory that cannot be loaded safely; the message says why."""


@dataclass
class Checkpoint:
    family: str
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    meta: dict[str, Any]
    path: Path


def config_to_dict(config: Any) -> dict[str, Any]:
    """A Config dataclass (possibly nested) as plain JSON-able data."""
    if dataclasses.is_dataclass(config):
        return dataclasses.asdict(config)
    return dict(config)


def save_checkpoint(
    out_dir: str | Path,
    model: torch.nn.Module | Mapping[str, torch.Tensor],
    *,
    family: str,
    config: Any,
    meta: Mapping[str, Any] | None = None,
) -> Path:
    """Write an export directory atomically: a reader sees the old export or the new one, never half.

    Staging folders left beside it by an export killed midway are removed first.
    """
    out_dir = Path(out_dir)
    state = model.state_dict() if isinstance(model, torch.nn.Module) else dict(model)
    # safetensors refuses shared storage and non-contiguous views; clone into plain tensors.
    tensors = {name: t.detach().to("cpu").contiguous().clone() for name, t in state.items()}
    meta = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), **(meta or {})}

    sweep_staging(out_dir)
    with atomic_directory(out_dir) as staging:
        header = {"format_version": FORMAT_VERSION, "family": family, "config": config_to_dict(config)}
        write_json(staging / CONFIG_FILE, header)
        write_json(staging / META_FILE, meta)
        save_file(tensors, str(staging / WEIGHTS_FILE), metadata={"family": family})
    return out_dir


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Fill the yielded staging folder; on success it replaces ``target`` whole, on error it vanishes.

    Readers see the old directory or the new one, never half of one (exports, vector indexes).
    Files written into the staging folder should be flushed (``write_json`` does).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; what is published here is meant to be shared
        yield staging
        for path in staging.iterdir():
            os.chmod(path, 0o644)
        fsync_path(staging)
        replace_dir(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def sweep_staging(target: Path) -> None:
    """Remove the staging folders (``.<name>.*``) that a writer killed inside ``atomic_directory(target)`` left."""
    if target.parent.is_dir():
        for stale in target.parent.iterdir():
            if stale.name.startswith(f".{target.name}.") and stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read an export directory, refusing anything that is not config + safetensors + meta."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"Checkpoint {path} is not a directory (expected {CONFIG_FILE}, {WEIGHTS_FILE}, {META_FILE}).")
    pickles = sorted(p.name for p in path.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise CheckpointError(
            f"Checkpoint {path} contains pickle files ({', '.join(pickles)}); mmdemo never unpickles. "
            f"Convert the weights to {WEIGHTS_FILE}."
        )
    missing = [name for name in (CONFIG_FILE, WEIGHTS_FILE, META_FILE) if not (path / name).is_file()]
    if missing:
        raise CheckpointError(f"Checkpoint {path} is missing {', '.join(missing)}.")

    header = _read_json(path / CONFIG_FILE)
    meta = _read_json(path / META_FILE)
    if not isinstance(header, dict) or not isinstance(meta, dict):
        raise CheckpointError(f"Checkpoint {path}: {CONFIG_FILE} and {META_FILE} must each hold a JSON object.")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"Checkpoint {path} has format version {version!r}; this mmdemo reads {FORMAT_VERSION}.")
    family, config = header.get("family"), header.get("config")
    if not isinstance(family, str) or not isinstance(config, dict):
        raise CheckpointError(f"Checkpoint {path}: {CONFIG_FILE} needs a string 'family' and an object 'config'.")
    try:
        state_dict = load_file(str(path / WEIGHTS_FILE))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"Checkpoint {path}: {WEIGHTS_FILE} is not a valid safetensors file ({error}).") from None
    return Checkpoint(family=family, config=config, state_dict=state_dict, meta=meta, path=path)


def trained_state_dict(model: torch.nn.Module, frozen_prefix: str) -> dict[str, torch.Tensor]:
    """The tensors training changed: all but the frozen parameters under ``frozen_prefix``.

    Those come back from the pretrained weights at load time (``load_weights``).
    """
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad and name.startswith(frozen_prefix)}
    return {name: t for name, t in model.state_dict().items() if name not in frozen}


def load_weights(model: torch.nn.Module, state_dict: Mapping[str, torch.Tensor], path: Path,
                 frozen_prefix: str | None = None) -> None:
    """Load an export's tensors into ``model``: every one of its tensors, no more and no fewer, or, for an
    export written with ``trained_state_dict(model, frozen_prefix)``, exactly those.
    """
    expected = set(trained_state_dict(model, frozen_prefix) if frozen_prefix is not None else model.state_dict())
    given = set(state_dict)
    if given != expected:
        missing, extra = sorted(expected - given)[:3], sorted(given - expected)[:3]
        raise CheckpointError(f"Checkpoint {path} does not match its config (missing {missing}, unexpected {extra}).")
    try:
        model.load_state_dict(state_dict, strict=frozen_prefix is None)
    except RuntimeError as error:  # a tensor of the wrong shape
        raise CheckpointError(f"Checkpoint {path} does not match its config: {error}") from None


def config_from_dict(config_cls: type, fields: Mapping[str, Any]) -> Any:
    """Build a Config dataclass from a checkpoint's config, as strictly as a training config file."""
    try:
        return from_dict(config_cls, fields, "config")
    except ConfigError as error:
        raise CheckpointError(f"Checkpoint config does not fit {config_cls.__name__}: {error}") from None


def write_json(path: Path, data: Any) -> None:
    """Write JSON and flush it to disk, for files that are renamed into place afterwards."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON ({error}).") from None


def fsync_path(path: Path) -> None:
    """Flush a file's or a directory's entry to disk (a rename is durable only once its directory is)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_dir(staging: Path, target: Path) -> None:
    """Swap ``staging`` into ``target``; the old directory is renamed aside first, then removed.

    A reader sees the old directory or the new one, never a mix; a writer killed in between
    leaves ``.old-<name>-<pid>``, which the next writer may sweep.
    """
    if target.exists():
        retired = target.with_name(f".old-{target.name}-{os.getpid()}")
        shutil.rmtree(retired, ignore_errors=True)
        os.replace(target, retired)
        os.replace(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, target)
    fsync_path(target.parent)
