"""The review loop: reviewers' decisions applied on every run, and the queue ordered by money.

A decision is keyed by region + local code + normalised name, so it survives a re-published
catalog that only respells the item (brackets, 费, 检测 for 测定). Reviewers fill the
decision columns of the exported queue (`review_queue.csv`) and save it, or write YAML:

    - {catalog_region: "310000", local_code: SH07, local_name: 血清铁蛋白测定,
       action: accept, candidate: 1, reviewer: 王芳, decided_on: 2024-03-01}

Actions: `accept` (candidate n of the queue, or the `code` given), `set_code` (`code`),
`unmappable`. A decision whose code is not in the national library is not applied: the item
gets review_status `decision_stale` and stays in the queue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from catalogbridge.columns import AMOUNT_TYPE
from catalogbridge.names import (
    AWAITING_REVIEW,
    DECISION_STALE,
    FEE,
    MANUAL,
    NEEDS_REVIEW,
    REVIEWED,
    UNMAPPABLE,
    UNMATCHED,
    VISIT,
)

ACCEPT, SET_CODE, MARK_UNMAPPABLE = "accept", "set_code", "unmappable"
ACTIONS = (ACCEPT, SET_CODE, MARK_UNMAPPABLE)
DECISION_KEY = ("catalog_region", "local_code", "match_key")
DECISION_FIELDS = ("action", "candidate", "code", "reviewer", "decided_on")
QUEUE_CANDIDATES = 3
_DECISION_SCHEMA = ("catalog_region string, local_code string, match_key string, "
                    "decision_action string, decision_candidate int, decision_code_given string, "
                    "decided_by string, decided_on string")


class DecisionError(ValueError):
    """A decisions file that cannot be applied; the message names the file and the row."""


def read_decisions(path: str | Path, key_of: Callable[[str], str]) -> pd.DataFrame:
    """Decisions as one row per key (the latest `decided_on` wins); blank actions are skipped."""
    path = Path(path)
    if not path.is_file():
        raise DecisionError(f"matching.decisions_path: no file at {path}")
    if path.suffix.lower() in (".yaml", ".yml"):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            raise DecisionError(f"{path}: expected a list of decisions (mappings)")
        frame = pd.DataFrame(raw, dtype=object)
    else:
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    rows: list[dict[str, Any]] = []
    for number, rec in enumerate(frame.to_dict("records"), start=2):
        row = _decision_row({str(k): v for k, v in rec.items()}, key_of, f"{path} row {number}")
        if row is not None:
            rows.append(row)
    out = pd.DataFrame(rows, columns=[c.split()[0] for c in _DECISION_SCHEMA.split(", ")])
    out["decision_candidate"] = out["decision_candidate"].astype("Int64")
    out = out.sort_values("decided_on", kind="stable", na_position="first")
    out = out.drop_duplicates(list(DECISION_KEY), keep="last").reset_index(drop=True)
    return out.astype(object).where(out.notna(), None)


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _decision_row(rec: dict[str, Any], key_of: Callable[[str], str],
                  where: str) -> dict[str, Any] | None:
    action = _text(rec.get("action")).lower().replace(" ", "_")
    if not action:
        return None  # a queue row nobody decided yet
    if action not in ACTIONS:
        raise DecisionError(f"{where}: action {action!r} is not one of {', '.join(ACTIONS)}")
    for column in ("catalog_region", "local_code", "local_name"):
        if not _text(rec.get(column)):
            raise DecisionError(f"{where}: '{column}' is empty; decisions are keyed by region, "
                                "local code and name")
    candidate, code = _text(rec.get("candidate")), _text(rec.get("code"))
    if action == ACCEPT and not (candidate.isdigit() or code):
        raise DecisionError(f"{where}: 'accept' needs a candidate number (1, 2, 3) or a code")
    if action == SET_CODE and not code:
        raise DecisionError(f"{where}: 'set_code' needs the national code in 'code'")
    decided_on = decision_date(rec.get("decided_on"), where)
    return {"catalog_region": _text(rec["catalog_region"]), "local_code": _text(rec["local_code"]),
            "match_key": key_of(_text(rec["local_name"])), "decision_action": action,
            "decision_candidate": int(candidate) if candidate.isdigit() else None,
            "decision_code_given": code or None, "decided_by": _text(rec.get("reviewer")) or None,
            "decided_on": decided_on}


_EXCEL_EPOCH = dt.date(1899, 12, 30)  # day 0 of Excel's serial dates (1900 system)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")


def decision_date(value: Any, where: str) -> str | None:
    """`decided_on` as an ISO date, from the forms Excel writes, so "latest wins" is right.

    A date or timestamp; 2024-03-09, 2024/3/9, 2024.3.9 or 20240309 (a time after a space is
    ignored); or an Excel serial number (45360 is 2024-03-09). Blank: None.
    """
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = _text(value).split(" ")[0].split("T")[0]
    if not text:
        return None
    serial = text.removesuffix(".0")
    if serial.isdigit() and len(serial) <= 5:
        return (_EXCEL_EPOCH + dt.timedelta(days=int(serial))).isoformat()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    raise DecisionError(f"{where}: decided_on {value!r} is not a date; write it as 2024-03-09")


def apply_decisions(mapping: DataFrame, decisions: pd.DataFrame | None, national: DataFrame,
                    spark: SparkSession) -> DataFrame:
    """Overlay reviewers' decisions on the automatic mapping (both catalog-sized, broadcast)."""
    if decisions is None or decisions.empty:  # same columns, no joins
        blank = F.lit(None).cast("string")
        return mapping.select(*[c for c in mapping.columns if c != "run_id"],
                              *[blank.alias(c) for c in ("decision_action", "decision_code",
                                                         "decided_by", "decided_on")], "run_id")
    table = spark.createDataFrame(decisions, _DECISION_SCHEMA)
    names = F.broadcast(national.select(F.col("national_code").alias("_target"),
                                        F.col("national_name").alias("_target_name")))
    target = F.when(F.col("decision_action") == ACCEPT, F.coalesce(
        "decision_code_given", F.try_element_at("candidate_codes", F.col("decision_candidate"))
    )).when(F.col("decision_action") == SET_CODE, F.col("decision_code_given"))
    joined = (mapping.join(F.broadcast(table), list(DECISION_KEY), "left")
              .withColumn("decision_code", target)
              .join(names, F.col("decision_code") == F.col("_target"), "left"))
    decided = F.col("decision_action").isNotNull()
    unmappable = F.col("decision_action") == MARK_UNMAPPABLE
    applied = decided & (unmappable | F.col("_target").isNotNull())
    stale = decided & ~applied

    def pick(when_applied: Any, when_stale: Any, column: str) -> Any:
        return (F.when(applied, when_applied).when(stale, when_stale)
                .otherwise(F.col(column)).alias(column))

    keep = list(mapping.columns)
    overlay = {
        "national_code": pick(F.col("_target"), F.lit(None), "national_code"),
        "national_name": pick(F.col("_target_name"), F.lit(None), "national_name"),
        "method": pick(F.lit(MANUAL), F.lit(UNMATCHED), "method"),
        "review_status": pick(F.when(unmappable, F.lit(UNMAPPABLE)).otherwise(F.lit(REVIEWED)),
                              F.lit(DECISION_STALE), "review_status"),
    }
    return joined.select(
        *[overlay.get(c, F.col(c)) for c in keep if c != "run_id"],
        "decision_action", "decision_code", "decided_by", "decided_on", "run_id",
    )


def money_at_stake(clean: DataFrame) -> DataFrame:
    """Fees, visits and lines billed under local items still awaiting review, per catalog item."""
    return (
        clean.where(F.col("mapping_source") == AWAITING_REVIEW)
        .groupBy(F.col("billing_catalog_region").alias("catalog_region"),
                 F.col("medins_list_codg").alias("local_code"))
        .agg(F.sum(FEE).alias("fee_at_stake"),
             F.countDistinct(VISIT).alias("visits_at_stake"),
             F.count(F.lit(1)).alias("lines_at_stake"))
    )


def review_queue(mapping: DataFrame, clean: DataFrame, national: DataFrame) -> DataFrame:
    """Items without an accepted code, the most money first, top candidates side by side.

    The decision columns are left blank for reviewers to fill in (see the module docstring).
    """
    names = national.select("national_code", "national_name")
    stake = money_at_stake(clean)
    queue = (mapping.where(F.col("national_code").isNull()
                           & (F.col("review_status") != UNMAPPABLE))
             .join(F.broadcast(stake), ["catalog_region", "local_code"], "left")
             .fillna(0, ["visits_at_stake", "lines_at_stake"])
             .withColumn("fee_at_stake",
                         F.coalesce("fee_at_stake", F.lit(0)).cast(AMOUNT_TYPE)))
    candidates = []
    for n in range(1, QUEUE_CANDIDATES + 1):
        code = f"candidate_{n}_code"
        queue = queue.withColumns({
            code: F.try_element_at("candidate_codes", F.lit(n)),
            f"candidate_{n}_score": F.round(F.try_element_at("candidate_scores", F.lit(n)), 1),
        }).join(F.broadcast(names.withColumnsRenamed(
            {"national_code": code, "national_name": f"candidate_{n}_name"})), code, "left")
        candidates += [code, f"candidate_{n}_name", f"candidate_{n}_score"]
    order: list[Column | str] = [
        F.desc("fee_at_stake"), F.desc("visits_at_stake"),
        F.col("review_status") != NEEDS_REVIEW, F.desc_nulls_last("score"),
        "catalog_region", "local_code"]
    ranked = queue.withColumn("queue_rank", F.row_number().over(Window.orderBy(*order)))
    return ranked.select(
        "queue_rank", "catalog_region", "catalog_admdvs", "local_code", "local_name",
        "chrgitm_lv", "review_status", "fee_at_stake", "visits_at_stake", "lines_at_stake",
        *candidates, "code_conflict",
        # A stale decision (its code left the library) is shown for the reviewer to redo.
        F.col("decision_code").alias("stale_decision_code"),
        F.col("decided_by").alias("stale_decided_by"), "run_id",
        *[F.lit(None).cast("string").alias(c) for c in DECISION_FIELDS],
    ).orderBy("queue_rank")
