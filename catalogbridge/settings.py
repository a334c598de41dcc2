"""Frozen settings dataclasses loaded from YAML: base + overlay + `--set` overrides.

The loader is generic: each concern owns its settings model (a frozen dataclass next to the
code that uses it) and validates it in `__post_init__` by raising `SettingError`; the
loader turns that into a `ConfigError` naming the dotted conf key. Every key is checked at
start-up, so a typo or a wrong type stops the run before Spark starts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, Union

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration problem; the message names the offending key."""


class SettingError(ValueError):
    """Raised by a settings model for one of its fields; the loader adds the key's prefix."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


class UnknownKeyError(SettingError):
    """A key the model does not accept (e.g. an unknown rule name); `message` follows the key."""


def check_choice(key: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise SettingError(key, f"{value!r} is not one of {', '.join(allowed)}")


def load_settings(cls: type[T], path: str | Path, overrides: Sequence[str] = ()) -> T:
    """Load a YAML file (following `extends:`), apply `key=value` overrides, build `cls`."""
    raw = _load_yaml_chain(Path(path), seen=())
    for item in overrides:
        _apply_override(raw, item)
    return settings_from_dict(cls, raw)


def settings_from_dict(cls: type[T], raw: Mapping[str, Any]) -> T:
    return typing.cast(T, _build(cls, raw, ""))


def _load_yaml_chain(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    if path.resolve() in seen:
        raise ConfigError(f"'extends' loops back to {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    base = _load_yaml_chain(path.parent / str(parent), (*seen, path.resolve()))
    return _deep_merge(base, data)


def _deep_merge(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _apply_override(raw: dict[str, Any], item: str) -> None:
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects key=value, got {item!r}")
    parts = key.strip().split(".")
    # Spark settings are dotted themselves: everything after `spark.conf.` is one key.
    if parts[:2] == ["spark", "conf"] and len(parts) > 2:
        parts = [*parts[:2], ".".join(parts[2:])]
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: '{part}' is not a section")
        node = child
    node[parts[-1]] = _parse_value(text)


def _parse_value(text: str) -> Any:
    """YAML scalars and lists as in the files; text that is not valid YAML stays text."""
    if not text:
        return None
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):
        return text


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"conf key '{prefix or '<root>'}': expected a mapping, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in raw:
        if key not in fields:
            where = f"{prefix}.{key}" if prefix else str(key)
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"unknown conf key '{where}'{hint}")
    values: dict[str, Any] = {}
    for name, fld in fields.items():
        where = f"{prefix}.{name}" if prefix else name
        if name in raw:
            values[name] = _coerce(hints[name], raw[name], where)
        elif fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing conf key '{where}'")
    try:
        return cls(**values)
    except SettingError as exc:
        where = f"{prefix}.{exc.key}" if prefix else exc.key
        if isinstance(exc, UnknownKeyError):
            raise ConfigError(f"unknown conf key '{where}'{exc.message}") from None
        raise ConfigError(f"conf key '{where}': {exc.message}") from None


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(args[0], value, where)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value if value is not None else {}, where)  # type: ignore[arg-type]
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"conf key '{where}': expected a list, got {value!r}")
        (item_tp,) = typing.get_args(tp)
        return [_coerce(item_tp, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"conf key '{where}': expected a mapping, got {value!r}")
        _, value_tp = typing.get_args(tp)
        if value_tp is str:
            return {str(k): _scalar_text(v, f"{where}.{k}") for k, v in value.items()}
        return {str(k): _coerce(value_tp, v, f"{where}.{k}") for k, v in value.items()}
    return _coerce_scalar(tp, value, where)


def _scalar_text(value: Any, where: str) -> str:
    if isinstance(value, Mapping | list) or value is None:
        raise ConfigError(f"conf key '{where}': expected a single value, got {value!r}")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _coerce_scalar(tp: Any, value: Any, where: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"conf key '{where}': expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"conf key '{where}': expected a whole number, got {value!r}")
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"conf key '{where}': expected a number, got {value!r}")
    if tp is dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(
                f"conf key '{where}': expected a date like 2023-01-31, got {value!r}"
            ) from None
    if tp is str:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"conf key '{where}': expected text, got {value!r}")
    raise ConfigError(f"conf key '{where}': unsupported type {tp}")  # pragma: no cover
