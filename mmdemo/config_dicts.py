"""Config dataclasses to and from plain data (JSON, YAML), strictly.

Training config files and checkpoint configs both go through here: every key must name a field
(a typo is an error that lists the valid names, never a silently ignored setting), nested
dataclasses nest, and values are checked against the annotations, converting only where no
meaning is lost (JSON lists back to tuples, YAML's "1e-3" string to a float).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, Mapping


class ConfigError(ValueError):
    """Data that does not fit a Config dataclass; the message says where."""


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
        name = config_cls.__name__
        raise ConfigError(f"Unknown {name} fields {keys}; the {name} fields are: {', '.join(names)}.")
    values = {name: _coerce(value, hints[name], f"{where}.{name}") for name, value in data.items()}
    try:
        return config_cls(**values)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"Invalid '{where}' config: {error}") from None


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
