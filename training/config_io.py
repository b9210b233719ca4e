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
import types
import typing
from pathlib import Path
from typing import Any, Mapping

import yaml

SECTIONS = ("train", "task")


class ConfigError(ValueError):
    """A config file or override that does not fit the Config dataclasses; the message says where."""


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


def to_dict(config: Any) -> dict[str, Any]:
    """A Config dataclass as JSON-able data (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def from_dict(config_cls: type, data: Mapping[str, Any], where: str) -> Any:
    """Build ``config_cls`` from ``data``: unknown keys and ill-typed values are errors naming ``where.key``."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"'{where}' must be a mapping of {config_cls.__name__} fields; got {data!r}.")
    hints = typing.get_type_hints(config_cls)
    names = [field.name for field in dataclasses.fields(config_cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        keys = ", ".join(f"'{where}.{key}'" for key in unknown)
        raise ConfigError(f"Unknown config key(s) {keys}; {config_cls.__name__} fields are: {', '.join(names)}.")
    values = {name: _coerce(value, hints[name], f"{where}.{name}") for name, value in data.items()}
    try:
        return config_cls(**values)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"Invalid '{where}' config: {error}") from None


def apply(config: Any, data: Mapping[str, Any], where: str) -> Any:
    """``config`` with the fields in ``data`` replaced (nested dataclasses merge field by field)."""
    return from_dict(type(config), deep_merge(_shallow_dict(config), data), where)


def _shallow_dict(config: Any) -> dict[str, Any]:
    out = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        out[field.name] = _shallow_dict(value) if dataclasses.is_dataclass(value) else value
    return out


def _coerce(value: Any, field_type: Any, where: str) -> Any:
    """Check ``value`` against a field's annotation, converting only where no meaning is lost."""
    if dataclasses.is_dataclass(field_type):
        if dataclasses.is_dataclass(value):
            return value
        return from_dict(field_type, value, where)
    origin, args = typing.get_origin(field_type), typing.get_args(field_type)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (arg for arg in args if arg is not type(None)):
            try:
                return _coerce(value, option, where)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0] if errors else f"'{where}' has an unsupported type.")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"'{where}' must be one of {', '.join(map(repr, args))}; got {value!r}.")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"'{where}' must be a list; got {value!r}.")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(item, args[0], f"{where}[{i}]") for i, item in enumerate(value))
        if args and len(args) != len(value):
            raise ConfigError(f"'{where}' must be a list of {len(args)} values; got {value!r}.")
        kinds = args or (Any,) * len(value)
        return tuple(_coerce(item, kind, f"{where}[{i}]") for i, (item, kind) in enumerate(zip(value, kinds)))
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"'{where}' must be a list; got {value!r}.")
        return [_coerce(item, args[0], f"{where}[{i}]") if args else item for i, item in enumerate(value)]
    if origin is dict or field_type is Any or origin is not None:
        return value
    if field_type is bool:
        if isinstance(value, bool):
            return value
    elif field_type is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif field_type is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif field_type is str:
        if isinstance(value, str):
            return value
    elif field_type is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
    else:
        return value
    raise ConfigError(f"'{where}' must be {getattr(field_type, '__name__', field_type)}; got {value!r}.")
