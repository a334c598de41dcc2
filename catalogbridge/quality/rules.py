"""The data-quality rules settlement rows are checked against, with their reason codes.

Each rule can be switched off or set to `flag` (keep the row, mark it) instead of `drop`
(quarantine it) under `quality.rules` in conf. The paper's rules drop; the NHSA
smart-supervision ("两库") rules on gender- and age-limited items flag by default.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from catalogbridge.io.readers import InputError, read_reference_frame
from catalogbridge.names import (
    AGE_LIMITED_ITEM,
    DROP,
    DUPLICATE_FEEDETL_SN,
    FEE_NOT_POSITIVE,
    FLAG,
    GENDER_LIMITED_ITEM,
    INVALID_FEE,
    INVALID_REGION,
    INVALID_TIME,
    ITEM_NOT_IN_CATALOG,
    MED_TYPE_EXCLUDED,
    MISSING_FEE,
    MISSING_FEEDETL_SN,
    MISSING_ITEM_CODE,
    MISSING_ITEM_NAME,
    MISSING_VISIT_ID,
    OUT_OF_PERIOD,
    UNKNOWN_REGION,
)
from catalogbridge.settings import SettingError, UnknownKeyError, check_choice

SEVERITIES = (DROP, FLAG)


@dataclass(frozen=True)
class Rule:
    code: str
    description: str
    default_severity: str = DROP


RULES: tuple[Rule, ...] = (
    Rule(MISSING_ITEM_CODE, "item code (medins_list_codg) is empty — paper rule"),
    Rule(MISSING_ITEM_NAME, "item name (medins_list_name) is empty — paper rule"),
    Rule(MISSING_FEE, "line fee (det_item_fee_sumamt) is empty"),
    Rule(INVALID_FEE, "line fee is not a number"),
    Rule(FEE_NOT_POSITIVE, "line fee is 0 or negative (refund lines) — paper rule"),
    Rule(DUPLICATE_FEEDETL_SN, "another row has the same feedetl_sn; one is kept — paper rule"),
    Rule(MISSING_FEEDETL_SN, "line serial number (feedetl_sn) is empty"),
    Rule(MISSING_VISIT_ID, "visit id (mdtrt_id) is empty, so visits cannot be counted"),
    Rule(INVALID_TIME, "fee_ocur_time is empty or not a date"),
    Rule(OUT_OF_PERIOD, "fee_ocur_time is outside analysis.period"),
    Rule(MED_TYPE_EXCLUDED, "med_type is not in analysis.med_types"),
    Rule(INVALID_REGION, "insuplc_admdvs or mdtrtarea_admvs is not a 6-digit region code"),
    Rule(UNKNOWN_REGION, "no catalog for the insured or treatment region"),
    Rule(ITEM_NOT_IN_CATALOG, "item code not in the billing region's catalog and no valid "
                              "national code on the row"),
    Rule(GENDER_LIMITED_ITEM, "item limited to the other gender (NHSA smart supervision)", FLAG),
    Rule(AGE_LIMITED_ITEM, "item limited to children, patient too old (NHSA smart supervision)",
         FLAG),
)
RULE_CODES: tuple[str, ...] = tuple(r.code for r in RULES)


@dataclass(frozen=True)
class RuleSettings:
    """One data-quality rule: `drop` quarantines the row, `flag` keeps it and marks it."""

    enabled: bool = True
    severity: str | None = None  # None: the rule's default

    def __post_init__(self) -> None:
        if self.severity is not None:
            check_choice("severity", self.severity, SEVERITIES)


@dataclass(frozen=True)
class QualitySettings:
    """Rules, smart-supervision lists and report alerts (conf `quality`)."""

    rules: dict[str, RuleSettings] = field(default_factory=dict)
    # NHSA lists (国标代码 + 限定性别 / 限定对象), TSV, CSV or Excel; None = off.
    gender_limited_items: str | None = None
    age_limited_items: str | None = None
    age_limits: dict[str, int] = field(default_factory=dict)  # oldest age each 限定对象 allows
    alert_share_change_pct: float = 5.0

    def __post_init__(self) -> None:
        for name in self.rules:
            if name not in RULE_CODES:
                close = difflib.get_close_matches(name, RULE_CODES, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise UnknownKeyError(f"rules.{name}", f"{hint}; rules are: {', '.join(RULE_CODES)}")
        for name, limit in self.age_limits.items():
            if limit < 0:
                raise SettingError(f"age_limits.{name}", "must be >= 0")


def rule_severities(configured: dict[str, RuleSettings]) -> dict[str, str]:
    """code -> 'drop' | 'flag' for every enabled rule, conf overriding the defaults."""
    severities = {}
    for rule in RULES:
        cfg = configured.get(rule.code)
        if cfg is None:
            severities[rule.code] = rule.default_severity
        elif cfg.enabled:
            severities[rule.code] = cfg.severity or rule.default_severity
    return severities


class SupervisionListError(ValueError):
    """A smart-supervision list that cannot be used; the message names the file and column."""


GENDER_COLUMNS = {"code": "国标代码", "gender": "限定性别"}
AGE_COLUMNS = {"code": "国标代码", "group": "限定对象"}


def supervision_limits(gender: pd.DataFrame | None, age: pd.DataFrame | None,
                       age_limits: dict[str, int]) -> pd.DataFrame:
    """One row per national code: `limit_gender` (男/女) and `limit_age_max` (years, inclusive).

    Inputs are the NHSA lists as published (columns 国标代码 + 限定性别, or 国标代码 + 限定对象);
    `age_limits` says how old each 限定对象 (儿童, 婴幼儿, 新生儿 …) may be.
    """
    frames = []
    if gender is not None:
        _require(gender, GENDER_COLUMNS.values(), "quality.gender_limited_items")
        frames.append(pd.DataFrame({"national_code": gender["国标代码"].str.strip(),
                                    "limit_gender": gender["限定性别"].str.strip(),
                                    "limit_age_max": pd.NA}))
    if age is not None:
        _require(age, AGE_COLUMNS.values(), "quality.age_limited_items")
        groups = age["限定对象"].str.strip()
        unknown = sorted(set(groups) - set(age_limits))
        if unknown:
            raise SupervisionListError(
                f"quality.age_limited_items: column 限定对象 has {', '.join(unknown)} with no "
                f"maximum age; add them under quality.age_limits (e.g. {unknown[0]}: 17)")
        frames.append(pd.DataFrame({"national_code": age["国标代码"].str.strip(),
                                    "limit_gender": None,
                                    "limit_age_max": groups.map(age_limits)}))
    if not frames:
        return pd.DataFrame(columns=["national_code", "limit_gender", "limit_age_max"])
    limits = pd.concat(frames, ignore_index=True)
    return (limits.groupby("national_code", as_index=False)
            .agg(limit_gender=("limit_gender", "first"), limit_age_max=("limit_age_max", "min"))
            .astype({"limit_age_max": "Int64"}))


def _require(frame: pd.DataFrame, columns: Iterable[str], key: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SupervisionListError(f"{key}: missing column(s) {', '.join(missing)}; "
                                   f"columns found: {', '.join(map(str, frame.columns))}")


def load_supervision_limits(spark: SparkSession, quality: QualitySettings) -> DataFrame | None:
    """The gender- and age-limited item lists named in conf, as one small table (or None)."""
    key_gender, key_age = "quality.gender_limited_items", "quality.age_limited_items"
    gender = read_reference_frame(quality.gender_limited_items, key_gender) \
        if quality.gender_limited_items else None
    age = read_reference_frame(quality.age_limited_items, key_age) \
        if quality.age_limited_items else None
    if gender is None and age is None:
        return None
    try:
        limits = supervision_limits(gender, age, quality.age_limits)
    except SupervisionListError as exc:
        raise InputError(str(exc)) from None
    ages = [None if pd.isna(a) else int(a) for a in limits["limit_age_max"].tolist()]
    rows = list(zip(limits["national_code"], limits["limit_gender"], ages, strict=True))
    return spark.createDataFrame(
        rows, "national_code string, limit_gender string, limit_age_max int")
