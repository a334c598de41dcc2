"""The report stage's Spark side: the tables each report reads, streamed one insured region at
a time, and the files written (a page and a workbook per region, the national overview, the
index).

Collected on the driver: one region's rows of `REGION_TABLES` at a time; the aggregates of
`Aggregates` (regions x reasons, groups x members); the national tables (scheme 1 per pair,
per insured region, the `report.top_items` most frequent items, the gravity fit) — bounded by
pairs, regions and a setting, never by items x pairs or settlement rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from catalogbridge.decisions.impact import INSURED_UNIT
from catalogbridge.flows.alerts import INSURED_REGION
from catalogbridge.names import (
    CLASS_SUMMARY,
    DISCREPANT_ITEMS,
    FEE,
    INSURED,
    INSURED_DECISIONS,
    INSURED_SCENARIOS,
    PAIR,
    PUBLISHED_TABLES,
    SCENARIO_RESULTS,
    TREATMENT,
)
from catalogbridge.reporting.charts import find_cjk_font, png_bytes, scheme_chart
from catalogbridge.reporting.streams import region_frames
from catalogbridge.reports.context import Aggregates, Context
from catalogbridge.reports.html import render
from catalogbridge.reports.model import Report
from catalogbridge.reports.national import index_page, national_report
from catalogbridge.reports.regional import REGION_TABLES, region_report
from catalogbridge.reports.settings import ReportSettings
from catalogbridge.reports.workbook import write_workbook

log = logging.getLogger(__name__)
MB = 1 << 20


class ReportError(ValueError):
    """A report asked for something the data does not have."""


@dataclass(frozen=True)
class ReportTables:
    """The tables of a run the reports read, by role (Spark DataFrames, read when written)."""

    tables: Mapping[str, DataFrame]
    settings: ReportSettings
    parameters: tuple[tuple[str, str], ...]
    region_names: Mapping[str, str]
    run_id: str

    def __getitem__(self, name: str) -> DataFrame:
        return self.tables[name]


@dataclass(frozen=True)
class Written:
    pages: int
    workbooks: int
    largest_mb: float
    over_budget: tuple[str, ...]

    def __str__(self) -> str:
        over = f", over {len(self.over_budget)} the size budget" if self.over_budget else ""
        return (f"{self.pages:,} report pages and {self.workbooks:,} workbooks "
                f"(largest page {self.largest_mb:.2f} MB{over})")


def _insured(df: DataFrame) -> DataFrame:
    return df.where((F.col("unit") == INSURED_UNIT) & F.col(INSURED).isNotNull())


def region_tables(t: ReportTables) -> dict[str, DataFrame]:
    """Each report table of `REGION_TABLES`, keyed by the insured region it belongs to."""
    alerts = t["surge_alerts"]
    driven = (t["surge_drivers"].where(F.col("driver") == INSURED_REGION)
              .select("alert_rank", F.col("code").alias(INSURED)).distinct())
    touching = (alerts.withColumn(INSURED, F.col(TREATMENT)).withColumn("touch", F.lit("institution"))
                .unionByName(alerts.join(driven, "alert_rank").withColumn("touch", F.lit("insured"))))
    counts = (lambda name: t[name]) if t.settings.exact else (lambda name: t[PUBLISHED_TABLES[name]])
    return {
        "pair_schemes": counts(SCENARIO_RESULTS), "pair_classes": counts(CLASS_SUMMARY),
        "pair_items": counts(DISCREPANT_ITEMS), "decisions": counts(INSURED_DECISIONS),
        "insured_schemes": counts(INSURED_SCENARIOS), "impact": _insured(t["budget_impact"]),
        "sensitivity": _insured(t["budget_sensitivity"]).where(F.col("scheme") == 1),
        "frontier": _insured(t["budget_frontier"]), "comparison": _insured(t["scheme_comparison"]),
        "destinations": t["flow_destinations"],
        "benchmarks": t["cost_benchmarks"].where(F.col("med_type") == "all"),
        "alerts": touching.dropDuplicates(["alert_rank", INSURED, "touch"]),
    }


def _pandas(df: DataFrame) -> pd.DataFrame:
    return pd.DataFrame.from_records([tuple(r) for r in df.collect()], columns=df.columns)


def aggregates(t: ReportTables) -> Aggregates:
    quarantine = t["settlements_quarantine"].groupBy(INSURED, "reason").agg(
        F.count(F.lit(1)).alias("rows"), F.sum(FEE).alias("fees"))
    coverage = t["settlements_clean"].groupBy(INSURED).agg(
        F.count(F.lit(1)).alias("rows"), F.sum(FEE).alias("fees"),
        F.sum(F.when(F.col("national_code").isNotNull(), F.col(FEE))).alias("mapped_fees"))
    queue = t["review_queue"].groupBy("catalog_region").agg(
        F.count(F.lit(1)).alias("items"), F.sum("fee_at_stake").alias("fee_at_stake"))
    recon = t["reconciliation"].groupBy(F.col("region").alias(TREATMENT)).agg(
        *(F.sum(c).alias(a) for c, a in (("input_rows", "rows"), ("clean_rows", "clean_rows"),
                                         ("quarantined_rows", "quarantined_rows"))))
    groups = t["group_summary"].drop("in_data")
    return Aggregates(*(_pandas(df) for df in (quarantine, coverage, queue, t["flow_balance"], groups,
                                               recon)))


def national_tables(t: ReportTables) -> dict[str, pd.DataFrame]:
    """Scheme 1 per pair with its discrepant items, per insured region with its fund impact
    over the horizon, the most frequent discrepant items and the gravity fit."""
    items = t["discrepant_items"].groupBy(*PAIR).agg(F.count(F.lit(1)).alias("items"))
    first = F.col("scheme") == 1
    pairs = (t["scenario_results"].where(first).join(items, list(PAIR), "left").fillna({"items": 0})
             .select(*PAIR, "items", "item_count", "visits", "added_spend"))
    candidates = t["insured_decisions"].groupBy(INSURED).agg(F.count(F.lit(1)).alias("items"))
    horizon = (_insured(t["budget_impact"]).where(first).groupBy(INSURED)
               .agg(F.max_by("fund_impact_to_date", "year").alias("fund_impact_to_date")))
    insured = (t["insured_scenarios"].where(first).join(candidates, INSURED, "left")
               .join(horizon, INSURED, "left")
               .select(INSURED, "items", "item_count", "visits", "added_spend", "fund_impact_to_date"))
    top = (t["discrepant_items"].groupBy("national_code", "national_name", "class_l1", "function")
           .agg(F.count(F.lit(1)).alias("pairs"), F.countDistinct(INSURED).alias("insured_regions"),
                F.sum("visits_treatment").alias("visits_treatment"),
                F.sum("fee_treatment").alias("fee_treatment"))
           .orderBy(F.desc("pairs"), F.desc("fee_treatment"), "national_code")
           .limit(t.settings.top_items))
    gravity = t["flow_gravity"].select(*(c for c in (
        "model", "pairs", "pairs_with_visits", "log_distance_km_coef", "log_distance_km_ci_low",
        "log_distance_km_ci_high", "deviance_explained", "pearson_chi2_per_df")
        if c in t["flow_gravity"].columns))
    return {"pairs": _pandas(pairs), "insured": _pandas(insured), "top_items": _pandas(top),
            "gravity": _pandas(gravity)}


def chosen_regions(t: ReportTables) -> list[str]:
    """The insured regions to report: `report.regions`, each checked against the data."""
    known = sorted(r[0] for r in t["insured_scenarios"].select(INSURED).distinct().collect()
                   if r[0] is not None)
    missing = [code for code in t.settings.regions if code not in known]
    if missing:
        raise ReportError(f"report.regions: {', '.join(missing)} not in the data; the insured "
                          f"regions with cross-region use are {', '.join(known) or 'none'}")
    return list(t.settings.regions) or known


def exact_scheme_chart(font: str | None) -> Callable[[str, str, pd.DataFrame], bytes | None]:
    """Figure 1 drawn from a pair's exact scheme rows (the published one shows the marks)."""
    def draw(region: str, treatment: str, rows: pd.DataFrame) -> bytes | None:
        if rows.empty:
            return None
        return png_bytes(scheme_chart(rows, region, treatment, font))
    return draw


def _write(report: Report, ctx: Context, directory: Path) -> float:
    """Write the page (and workbook); the page's size in MB."""
    page = directory / f"{report.name}.html"
    page.write_text(render(report, ctx.region_names), encoding="utf-8")
    size = page.stat().st_size / MB
    if size > ctx.settings.max_page_mb:
        log.warning("report %s is %.1f MB, over report.max_page_mb (%.1f): lower report.page_rows",
                    page.name, size, ctx.settings.max_page_mb)
    if ctx.settings.xlsx:
        write_workbook(report, ctx.region_names, directory / f"{report.name}.xlsx")
    return size


def write_reports(t: ReportTables, directory: Path, exports: Path) -> Written:
    """Every report of the run under `directory`; charts already drawn are read from `exports`."""
    regions = chosen_regions(t)
    directory.mkdir(parents=True, exist_ok=True)

    def chart(path: str) -> bytes | None:
        file = exports / path
        return file.read_bytes() if file.is_file() else None

    def published_figure(region: str, treatment: str, rows: pd.DataFrame) -> bytes | None:
        return chart(f"charts/schemes_{region}_{treatment}.png")  # drawn by the report stage

    figure = exact_scheme_chart(find_cjk_font()) if t.settings.exact else published_figure
    ctx = Context(t.settings, t.region_names, t.parameters, aggregates(t), chart, figure, t.run_id)
    streams = {name: df.where(F.col(INSURED).isin(regions)) for name, df in region_tables(t).items()}
    sizes = {}
    for region, frames in region_frames(streams, REGION_TABLES):
        sizes[region] = _write(region_report(region, frames, ctx), ctx, directory)
    reported = list(sizes)
    sizes["national"] = _write(national_report(**national_tables(t), reported=reported, ctx=ctx),
                               ctx, directory)
    (directory / "index.html").write_text(
        index_page({code: ctx.name(code) for code in reported}, t.run_id, t.settings.xlsx),
        encoding="utf-8")
    over = tuple(name for name, size in sizes.items() if size > t.settings.max_page_mb)
    return Written(len(sizes) + 1, len(sizes) if t.settings.xlsx else 0, max(sizes.values()), over)
