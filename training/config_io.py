"""Config files and overrides onto nested Config dataclasses, strictly.

A config file is YAML or JSON holding at most two sections::

    train: {epochs: 3, lr: 1.0e-3}      # TrainConfig fields
    task:  {model: {hidden: 64}}        # the task's Config dataclass (nested dataclasses nest)

Every key must name a field: a typo is an error that lists the valid names, never a silently
ignored setting. Command-line overrides (``--set train.lr=1e-3``) go through the same path.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Mapping

import yaml

from mmdemo.config_dicts import ConfigError, from_dict, to_dict  # noqa: F401  (re-exported for the CLI)

SECTIONS = ("train", "task")


def read_config_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """The ``{"train": {...}, "task": {...}}`` mapping of a .yaml/.yml/.json file (missing sections: {})."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"Cannot read config file {path}: {error.strerror or error}.") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        raise ConfigError(f"Config file {path} is not valid {kind}: {error}") from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {path} must hold a mapping with sections {', '.join(SECTIONS)}.")
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"Config file {path}: unknown section(s) {', '.join(map(repr, unknown))}; "
                          f"the sections are {', '.join(SECTIONS)}.")
    for section in SECTIONS:
        if not isinstance(data.setdefault(section, {}) or {}, dict):
            raise ConfigError(f"Config file {path}: section '{section}' must be a mapping of field names to values.")
        data[section] = data[section] or {}
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"train.lr=1e-3"`` -> ``(["train", "lr"], 0.001)``; the value is read as a YAML scalar/list."""
    key, sep, raw = text.partition("=")
    path = [part for part in key.strip().split(".") if part]
    if not sep or len(path) < 2 or path[0] not in SECTIONS:
        raise ConfigError(f"Override {text!r} must look like 'train.FIELD=VALUE' or 'task.FIELD[.SUBFIELD]=VALUE'.")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = raw
    return path, value


def nest(path: list[str], value: Any) -> dict[str, Any]:
    """``(["task", "model", "hidden"], 8)`` -> ``{"task": {"model": {"hidden": 8}}}``."""
    for key in reversed(path):
        value = {key: value}
    return value


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``update`` merged in, recursing into mappings."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def apply(config: Any, data: Mapping[str, Any], where: str) -> Any:
    """``config`` with the fields in ``data`` replaced (nested dataclasses merge field by field)."""
    return from_dict(type(config), deep_merge(_shallow_dict(config), data), where)


def _shallow_dict(config: Any) -> dict[str, Any]:
    out = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        out[field.name] = _shallow_dict(value) if dataclasses.is_dataclass(value) else value
    return out
