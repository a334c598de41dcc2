"""The per-run data-quality report: reasons and flags by region, mapping coverage, and how
each region's reason shares moved since the previous run. Everything collected here is an
aggregate bounded by regions × reasons (or regions × flagged items)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from catalogbridge.columns import AMOUNT_TYPE
from catalogbridge.names import AGE_LIMITED_ITEM, FEE, GENDER_LIMITED_ITEM, MONTH, SOURCE_FILE
from catalogbridge.quality.reconciliation import region_column


def records(df: DataFrame) -> list[dict[str, Any]]:
    return [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.asDict().items()}
            for row in df.collect()]


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def build_report(*, clean: DataFrame, quarantine: DataFrame, recon: DataFrame,
                 region_level: str) -> dict[str, Any]:
    """Counts by region and reason, mapping coverage and totals (all bounded by regions)."""
    level = region_level
    regions = records(recon.groupBy("region").agg(
        *[F.sum(c).alias(c) for c in ("input_rows", "clean_rows", "quarantined_rows",
                                       "input_fee", "clean_fee", "quarantined_fee")],
        F.min(F.col("balanced").cast("int")).cast("boolean").alias("balanced")).orderBy("region"))
    by_region = reasons_by_region(quarantine, column="reasons", region_level=level).cache()
    flags = reasons_by_region(clean, column="flags", region_level=level).cache()
    coverage = records(mapping_coverage(clean).orderBy("treatment_admdvs"))
    rows, mapped = sum(c["rows"] for c in coverage), sum(c["mapped_rows"] for c in coverage)
    fee = sum(float(c["fee"] or 0) for c in coverage)
    mapped_fee = sum(float(c["mapped_fee"] or 0) for c in coverage)

    def overall(df: DataFrame) -> list[dict[str, Any]]:
        return records(df.groupBy("reason").agg(F.sum("rows").alias("rows"),
                                                 F.sum("fee").alias("fee"))
                        .orderBy(F.desc("rows"), "reason"))

    return {
        "totals": {
            "input_rows": sum(r["input_rows"] for r in regions),
            "clean_rows": sum(r["clean_rows"] for r in regions),
            "quarantined_rows": sum(r["quarantined_rows"] for r in regions),
            "balanced": all(r["balanced"] for r in regions),
            "mapped_rows_pct": _pct(mapped, rows), "mapped_fee_pct": _pct(mapped_fee, fee),
        },
        "regions": regions,
        "quarantine_by_reason": overall(by_region),
        "quarantine_by_reason_region": records(by_region.orderBy("region", "reason")),
        "flags_by_reason": overall(flags),
        "flags_by_reason_region": records(flags.orderBy("region", "reason")),
        "supervision_flags_by_item": records(supervision_flags_by_item(clean).orderBy(
            "flag", "treatment_admdvs", "national_code")),
        "mapping_coverage_by_region": coverage,
    }



def delivery_months(deliveries: DataFrame, recon: DataFrame, *, period_start: dt.date | None,
                    period_end: dt.date | None) -> list[dict[str, Any]]:
    """Per delivery month: what changed since the last run, its files, rows read and clean,
    and whether the month lies outside `analysis.period` (its rows are then quarantined as
    out_of_period, not dropped). Bounded by the number of months."""
    per_file = recon.groupBy(SOURCE_FILE).agg(F.sum("input_rows").alias("rows"),
                                              F.sum("clean_rows").alias("clean_rows"))
    months = records(deliveries.join(per_file, SOURCE_FILE, "left").groupBy(
        F.col(MONTH).alias("month")).agg(
        F.first("change").alias("change"), F.count(F.lit(1)).alias("files"),
        F.coalesce(F.sum("rows"), F.lit(0)).alias("rows"),
        F.coalesce(F.sum("clean_rows"), F.lit(0)).alias("clean_rows")).orderBy("month"))
    for month in months:
        month["outside_period"] = _outside(month["month"], period_start, period_end)
    return months


def _outside(month: str | None, start: dt.date | None, end: dt.date | None) -> bool | None:
    if month is None:
        return None
    first = dt.date.fromisoformat(f"{month}-01")
    last = (first + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
    return bool((start is not None and last < start) or (end is not None and first > end))


def redeliveries(months: list[dict[str, Any]], previous: dict[str, Any] | None) -> None:
    """Add each month's row count of the previous run (`previous_rows`) to `months`."""
    before = {m["month"]: m["rows"] for m in (previous or {}).get("deliveries", [])}
    for month in months:
        month["previous_rows"] = before.get(month["month"])


def reasons_by_region(rows: DataFrame, *, column: str, region_level: str) -> DataFrame:
    """Rows and fees per reason (or flag) and treatment region; a row counts under each."""
    return (rows.select(F.explode(column).alias("reason"), region_column(region_level), FEE)
            .groupBy("reason", "region")
            .agg(F.count(F.lit(1)).alias("rows"), F.sum(FEE).cast(AMOUNT_TYPE).alias("fee")))


def supervision_flags_by_item(clean: DataFrame) -> DataFrame:
    """Smart-supervision flags per treatment region and national item."""
    return (clean.select(F.explode("flags").alias("flag"), "treatment_admdvs", "national_code",
                         FEE)
            .where(F.col("flag").isin(GENDER_LIMITED_ITEM, AGE_LIMITED_ITEM))
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


def _blank(value: Any) -> Any:
    return "" if value is None else value


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
    lines += ["", "## Deliveries", "", "| month | since the last run | files | rows | clean rows | "
              "rows last run | outside the period |", "|---|---|---:|---:|---:|---:|---|"]
    lines += [f"| {m['month'] or 'undated'} | {m['change']} | {m['files']:,} | {m['rows']:,} | "
              f"{m['clean_rows']:,} | {_cell(_blank(m['previous_rows']))} | "
              f"{'yes' if m['outside_period'] else ''} |" for m in report.get("deliveries", [])]
    lines += ["", "## Cross-region care: values the flow analyses could not read", ""]
    unread = report.get("flow_quality", [])
    lines += ["| check | value | side | visits | rows | fix |", "|---|---|---|---:|---:|---|"] + [
        f"| {r['check']} | {r['value']} | {r['side']} | {r['visits']:,} | {r['lines']:,} | {r['fix']} |"
        for r in unread] if unread else ["Every filing type, hospital level and region was known."]
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
