"""Typed, frozen run configuration loaded from YAML (base + overlay + --set overrides).

Every key is checked at start-up, so a typo or a wrong type stops the run before Spark
starts, with the dotted key in the message rather than a failure an hour later.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml


class ConfigError(ValueError):
    """A configuration problem; the message names the offending key."""


@dataclass(frozen=True)
class InputSpec:
    """One input: where it is, how it is encoded, and how its headers map to the contract."""

    path: str
    format: str = "auto"
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str | None = None
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InputsConfig:
    national_items: InputSpec
    catalogs: InputSpec
    settlements: InputSpec


@dataclass(frozen=True)
class PeriodConfig:
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass(frozen=True)
class AnalysisConfig:
    region_level: str = "province"
    period: PeriodConfig = field(default_factory=PeriodConfig)
    med_types: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MatchingConfig:
    accept_score: float = 92.0
    review_score: float = 70.0
    tie_margin: float = 2.0
    code_name_min_score: float = 80.0
    batch_size: int = 2000
    synonyms_path: str | None = "conf/synonyms.yaml"
    decisions_path: str | None = None
    top_k: int = 5
    shortlist: int = 10
    prefilter_score: float = 70.0
    block_min_score: float = 92.0
    blocking: bool = True
    partitions: int = 0


@dataclass(frozen=True)
class RuleConfig:
    """One data-quality rule: `drop` quarantines the row, `flag` keeps it and marks it."""

    enabled: bool = True
    severity: str | None = None  # None: the rule's default


@dataclass(frozen=True)
class QualityConfig:
    rules: dict[str, RuleConfig] = field(default_factory=dict)
    gender_limited_items: str | None = None
    age_limited_items: str | None = None
    age_limits: dict[str, int] = field(default_factory=dict)
    alert_share_change_pct: float = 5.0


@dataclass(frozen=True)
class ClassificationConfig:
    class_offset: int = 2


@dataclass(frozen=True)
class ScenarioConfig:
    thresholds: list[int] = field(default_factory=lambda: [0, 100, 200, 300, 400, 500])
    scope: str = "therapeutic"


@dataclass(frozen=True)
class OutputConfig:
    path: str = "output"
    format: str = "auto"
    exports_dir: str = "exports"
    charts: bool = True


@dataclass(frozen=True)
class SparkSettings:
    master: str | None = None
    app_name: str = "catalogbridge"
    log_level: str = "WARN"
    conf: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PipelineConfig:
    inputs: InputsConfig
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    matching: MatchingConfig = field(default_factory=MatchingConfig)
    classification: ClassificationConfig = field(default_factory=ClassificationConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    spark: SparkSettings = field(default_factory=SparkSettings)
    run_id: str | None = None


_CHOICES: dict[str, tuple[str, ...]] = {
    "analysis.region_level": ("province", "city"),
    "scenario.scope": ("therapeutic", "all"),
    "output.format": ("auto", "delta", "parquet"),
    "inputs.*.format": ("auto", "csv", "parquet", "xlsx"),
    "inputs.*.encoding": ("utf-8", "gb18030", "gbk"),
    "quality.rules.*.severity": ("drop", "flag"),
}


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> PipelineConfig:
    """Load a YAML file (following `extends:`), apply `key=value` overrides, validate."""
    raw = _load_yaml_chain(Path(path), seen=())
    for item in overrides:
        _apply_override(raw, item)
    return config_from_dict(raw)


def config_from_dict(raw: Mapping[str, Any]) -> PipelineConfig:
    cfg = _build(PipelineConfig, raw, "")
    _validate(cfg)
    return cfg


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
    return cls(**values)


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


def _validate(cfg: PipelineConfig) -> None:
    def check_choice(key: str, value: str, pattern: str | None = None) -> None:
        allowed = _CHOICES[pattern or key]
        if value not in allowed:
            raise ConfigError(f"conf key '{key}': {value!r} is not one of {', '.join(allowed)}")

    check_choice("analysis.region_level", cfg.analysis.region_level)
    check_choice("scenario.scope", cfg.scenario.scope)
    check_choice("output.format", cfg.output.format)
    for name in ("national_items", "catalogs", "settlements"):
        spec: InputSpec = getattr(cfg.inputs, name)
        check_choice(f"inputs.{name}.format", spec.format, "inputs.*.format")
        check_choice(f"inputs.{name}.encoding", spec.encoding.lower(), "inputs.*.encoding")
        if not spec.path:
            raise ConfigError(f"conf key 'inputs.{name}.path' is empty")
    period = cfg.analysis.period
    if period.start and period.end and period.start > period.end:
        raise ConfigError("conf key 'analysis.period': start is after end")
    thresholds = cfg.scenario.thresholds
    if not thresholds:
        raise ConfigError("conf key 'scenario.thresholds': give at least one threshold")
    if any(t < 0 for t in thresholds) or sorted(set(thresholds)) != thresholds:
        raise ConfigError(
            "conf key 'scenario.thresholds': use distinct non-negative visit counts in "
            f"ascending order (scheme 1 is the baseline), got {thresholds}"
        )
    m = cfg.matching
    for key in ("accept_score", "review_score", "tie_margin", "code_name_min_score",
                "prefilter_score", "block_min_score"):
        if not 0 <= getattr(m, key) <= 100:
            raise ConfigError(f"conf key 'matching.{key}': must be between 0 and 100")
    if m.review_score > m.accept_score:
        raise ConfigError("conf key 'matching.review_score': must not exceed accept_score")
    for key in ("batch_size", "top_k", "shortlist"):
        if getattr(m, key) < 1:
            raise ConfigError(f"conf key 'matching.{key}': must be at least 1")
    if m.shortlist < m.top_k:
        raise ConfigError("conf key 'matching.shortlist': must be at least top_k")
    if m.partitions < 0:
        raise ConfigError("conf key 'matching.partitions': must be >= 0 (0 = Spark's default)")
    from catalogbridge.rules import RULE_CODES

    for name, rule in cfg.quality.rules.items():
        if name not in RULE_CODES:
            close = difflib.get_close_matches(name, RULE_CODES, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"unknown conf key 'quality.rules.{name}'{hint}; rules are: "
                              f"{', '.join(RULE_CODES)}")
        if rule.severity is not None:
            check_choice(f"quality.rules.{name}.severity", rule.severity,
                         "quality.rules.*.severity")
    for name, limit in cfg.quality.age_limits.items():
        if limit < 0:
            raise ConfigError(f"conf key 'quality.age_limits.{name}': must be >= 0")
    if cfg.classification.class_offset < 0:
        raise ConfigError("conf key 'classification.class_offset': must be >= 0")
