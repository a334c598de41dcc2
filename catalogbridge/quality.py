"""Where every settlement row went: reconciliation and the per-run quality report.

Reconciliation proves, per input file and region, that input rows and fees equal clean plus
quarantined rows and fees. The report counts reasons and flags by region, the mapping
coverage, and compares each region's reason shares with the previous run.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from catalogbridge.columns import region_of
from catalogbridge.contracts import AMOUNT_TYPE
from catalogbridge.io import SOURCE_FILE

FEE = "det_item_fee_sumamt"
INVALID = "invalid"
RECONCILE_KEY = (SOURCE_FILE, "region")


class ReconciliationError(RuntimeError):
    """Input rows or fees != clean + quarantined: a join duplicated or lost rows."""


def _region(level: str) -> Column:
    return F.coalesce(region_of(F.col("mdtrtarea_admvs"), level), F.lit(INVALID)).alias("region")


def _totals(rows: DataFrame, level: str, prefix: str) -> DataFrame:
    return rows.groupBy(F.col(SOURCE_FILE), _region(level)).agg(
        F.count(F.lit(1)).alias(f"{prefix}_rows"),
        F.coalesce(F.sum(FEE), F.lit(0)).cast(AMOUNT_TYPE).alias(f"{prefix}_fee"))


def reconciliation(settlements: DataFrame, *, clean: DataFrame, quarantine: DataFrame,
                   region_level: str) -> DataFrame:
    """Per input file and treatment region: rows and fees read, clean and quarantined."""
    columns = [SOURCE_FILE, "mdtrtarea_admvs", FEE]
    outputs = (_totals(clean.select(*columns), region_level, "clean")
               .join(_totals(quarantine.select(*columns), region_level, "quarantined"),
                     list(RECONCILE_KEY), "full"))
    zero = {"clean_rows": 0, "clean_fee": 0, "quarantined_rows": 0, "quarantined_fee": 0}
    return (_totals(settlements, region_level, "input").join(outputs, list(RECONCILE_KEY), "full")
            .fillna({"input_rows": 0, "input_fee": 0, **zero})
            .withColumn("balanced", (F.col("input_rows") == F.col("clean_rows")
                                     + F.col("quarantined_rows"))
                        & (F.col("input_fee") == F.col("clean_fee") + F.col("quarantined_fee"))))


def check_reconciliation(table: DataFrame) -> None:
    """Fail loudly, naming the file and region, when any row of the reconciliation is off."""
    off = table.where(~F.col("balanced")).limit(5).collect()
    if off:
        details = "; ".join(
            f"{r[SOURCE_FILE]} region {r['region']}: read {r['input_rows']} rows / "
            f"{r['input_fee']} yuan, clean {r['clean_rows']} / {r['clean_fee']}, quarantined "
            f"{r['quarantined_rows']} / {r['quarantined_fee']}" for r in off)
        raise ReconciliationError(f"settlement rows do not reconcile: {details}")


def reasons_by_region(rows: DataFrame, *, column: str, region_level: str) -> DataFrame:
    """Rows and fees per reason (or flag) and treatment region; a row counts under each."""
    return (rows.select(F.explode(column).alias("reason"), _region(region_level), FEE)
            .groupBy("reason", "region")
            .agg(F.count(F.lit(1)).alias("rows"), F.sum(FEE).cast(AMOUNT_TYPE).alias("fee")))


def supervision_flags_by_item(clean: DataFrame) -> DataFrame:
    """Smart-supervision flags per treatment region and national item."""
    return (clean.select(F.explode("flags").alias("flag"), "treatment_admdvs", "national_code",
                         FEE)
            .where(F.col("flag").isin("gender_limited_item", "age_limited_item"))
            .groupBy("flag", "treatment_admdvs", "national_code")
            .agg(F.count(F.lit(1)).alias("rows"), F.sum(FEE).cast(AMOUNT_TYPE).alias("fee")))


def mapping_coverage(clean: DataFrame) -> DataFrame:
    """Per treatment region: share of clean rows and fees whose item has a national code."""
    mapped = F.col("national_code").isNotNull()
    return (clean.groupBy("treatment_admdvs")
            .agg(F.count(F.lit(1)).alias("rows"),
                 F.sum(mapped.cast("int")).alias("mapped_rows"),
                 F.sum(FEE).cast(AMOUNT_TYPE).alias("fee"),
                 F.sum(F.when(mapped, F.col(FEE))).cast(AMOUNT_TYPE).alias("mapped_fee")))


def clean_by_mapping_source(clean: DataFrame) -> DataFrame:
    """Clean rows and fees by how their item got its national code (or that it awaits review)."""
    return (
        clean.groupBy(F.coalesce("mapping_source", F.lit("none")).alias("mapping_source"))
        .agg(F.count(F.lit(1)).alias("rows"), F.sum(FEE).cast(AMOUNT_TYPE).alias("fee"))
        .orderBy("mapping_source")
    )


def mapping_by_method(mapping: DataFrame) -> DataFrame:
    return (mapping.groupBy("method", "review_status").agg(F.count(F.lit(1)).alias("items"))
            .orderBy("method", "review_status"))


def share_changes(current: dict[str, Any], previous: dict[str, Any] | None,
                  alert_pct: float) -> list[dict[str, Any]]:
    """Each (region, reason) share of the region's input rows, now and last run, with alerts.

    Shares are in percent of the region's input rows; an alert is raised when a share moves
    by more than `alert_pct` percentage points.
    """
    def shares(report: dict[str, Any]) -> dict[tuple[str, str], float]:
        inputs = {r["region"]: r["input_rows"] for r in report["regions"]}
        return {(r["region"], r["reason"]): 100.0 * r["rows"] / inputs[r["region"]]
                for r in report["quarantine_by_reason_region"] if inputs.get(r["region"])}

    now = shares(current)
    before = shares(previous) if previous else {}
    changes = []
    for key in sorted(set(now) | set(before)):
        share, last = now.get(key, 0.0), before.get(key) if previous else None
        change = None if last is None else round(share - last, 2)
        changes.append({"region": key[0], "reason": key[1], "share_pct": round(share, 2),
                        "previous_share_pct": None if last is None else round(last, 2),
                        "change_pct_points": change,
                        "alert": change is not None and abs(change) > alert_pct})
    return changes


def _cell(value: Any) -> str:
    """Counts with thousands separators; flags, percentages and blanks as they are."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def render_markdown(report: dict[str, Any]) -> str:
    """A short human summary of the quality report (the JSON holds everything)."""
    totals, before = report["totals"], report.get("previous_totals") or {}
    lines = [
        f"# Data quality report — run {report['run_id']}", "",
        f"| | this run | previous run ({report.get('previous_run_id') or 'none'}) |",
        "|---|---:|---:|",
    ]
    for key, label in (("input_rows", "input rows"), ("clean_rows", "clean rows"),
                       ("quarantined_rows", "quarantined rows"),
                       ("balanced", "reconciled per file and region"),
                       ("mapped_rows_pct", "clean rows with a national code, %"),
                       ("mapped_fee_pct", "clean fees with a national code, %")):
        lines.append(f"| {label} | {_cell(totals[key])} | {_cell(before.get(key, ''))} |")
    for title, column, key in (("Quarantine by reason", "reason", "quarantine_by_reason"),
                               ("Flags (rows kept)", "flag", "flags_by_reason")):
        lines += ["", f"## {title}", "", f"| {column} | rows | fee (yuan) |", "|---|---:|---:|"]
        lines += [f"| {r['reason']} | {r['rows']:,} | {Decimal(r['fee'] or 0):,} |"
                  for r in report[key]]
    alerts = [c for c in report["share_changes"] if c["alert"]]
    lines += ["", "## Changes against the previous run", ""]
    if report.get("previous_run_id") is None:
        lines.append("No previous run to compare with.")
    elif not alerts:
        lines.append(f"No region's share of any reason moved by more than "
                     f"{report['alert_share_change_pct']} points since run "
                     f"{report['previous_run_id']}.")
    else:
        lines += ["| region | reason | share % | previous % | change (points) |",
                  "|---|---|---:|---:|---:|"]
        lines += [f"| {c['region']} | {c['reason']} | {c['share_pct']} | "
                  f"{c['previous_share_pct']} | **{c['change_pct_points']:+}** |" for c in alerts]
    return "\n".join(lines) + "\n"
