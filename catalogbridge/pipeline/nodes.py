"""The pipeline's nodes: input DataFrames and settings in, output DataFrames (or documents) out.

Each node only composes transforms; reading, writing, exporting and timing are done by the
runner from the stage table (`catalogbridge.pipeline.stages`), so jobs and tests call the
same functions. What a node collects on the driver is bounded by catalogs, regions or
pairs (see README, "What stays on the driver").
"""

from __future__ import annotations

import logging
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from catalogbridge.io.readers import InputError, InputsSettings
from catalogbridge.matching.catalog import (
    catalog_conflicts,
    catalog_region_list,
    dedupe_catalog,
    library_from_table,
    load_synonyms,
    map_catalog,
    national_library_table,
    national_name_conflicts,
    standardize_catalog,
)
from catalogbridge.matching.review import DecisionError, apply_decisions, read_decisions, review_queue
from catalogbridge.matching.settings import MatchingSettings
from catalogbridge.names import (
    CATALOG_MAPPING,
    CLASS_SUMMARY,
    DISCREPANT_ITEMS,
    ITEM_STATS,
    NATIONAL_ITEMS,
    PAIR,
    RECONCILIATION,
    REVIEW_QUEUE,
    SCENARIO_RESULTS,
    SETTLEMENTS_CLEAN,
    SETTLEMENTS_QUARANTINE,
)
from catalogbridge.quality.reconciliation import reconciliation
from catalogbridge.quality.report import build_report, render_markdown, share_changes
from catalogbridge.quality.rules import QualitySettings, rule_severities
from catalogbridge.reporting.summary import charted_pairs, run_summary
from catalogbridge.transforms.cleaning import (
    AnalysisSettings,
    clean_rows,
    quarantined_rows,
    repeated_serials,
    tag_settlements,
)
from catalogbridge.transforms.discrepancy import (
    ClassificationSettings,
    analysis_regions,
    discrepant_items,
    region_coverage,
)
from catalogbridge.transforms.scenarios import (
    ScenarioSettings,
    class_summary,
    province_pairs,
    scenario_results,
)
from catalogbridge.transforms.statistics import item_stats

log = logging.getLogger("catalogbridge")

Outputs = dict[str, Any]


def ingest_national(*, raw: DataFrame, inputs: InputsSettings) -> Outputs:
    library = raw.transform(national_library_table)
    conflicts = raw.selectExpr("item_code AS national_code", "item_name AS national_name") \
        .transform(national_name_conflicts).limit(5).collect()
    if conflicts:
        codes = ", ".join(r["national_code"] for r in conflicts)
        raise InputError(f"inputs.national_items ({inputs.national_items.path}): column item_code "
                         f"lists the same code with different names ({codes}); keep one row per code")
    return {NATIONAL_ITEMS: library}


def map_catalogs(*, raw: DataFrame, national: DataFrame, spark: SparkSession, run_id: str,
                 inputs: InputsSettings, matching: MatchingSettings,
                 analysis: AnalysisSettings) -> Outputs:
    """Every catalog item with its national code; reviewers' decisions applied on every run."""
    catalog = raw.transform(standardize_catalog, region_level=analysis.region_level).cache()
    conflicts = catalog.transform(catalog_conflicts).limit(5).collect()
    if conflicts:
        shown = "; ".join(f"{r['catalog_region']} {r['local_code']} as {'/'.join(r['levels'])}"
                          for r in conflicts)
        raise InputError(
            f"inputs.catalogs ({inputs.catalogs.path}): the same local item_code is listed more "
            f"than once with different chrgitm_lv ({shown}); keep one row per code and region")
    library = library_from_table(national, load_synonyms(matching.synonyms_path), matching)
    try:
        decisions = read_decisions(matching.decisions_path, library.key_of) \
            if matching.decisions_path else None
    except DecisionError as exc:
        raise InputError(str(exc)) from None
    if decisions is not None:
        log.info("applying %d reviewer decisions from %s", len(decisions), matching.decisions_path)
    tasks = matching.partitions or spark.sparkContext.defaultParallelism
    mapping = catalog.transform(dedupe_catalog, partitions=tasks).transform(
        map_catalog, spark=spark, library=library, params=matching, run_id=run_id,
    ).transform(apply_decisions, decisions=decisions, national=national, spark=spark)
    return {CATALOG_MAPPING: mapping}


def clean_settlements(*, settlements: DataFrame, mapping: DataFrame, national: DataFrame,
                      limits: DataFrame | None, analysis: AnalysisSettings,
                      quality: QualitySettings) -> Outputs:
    """Clean rows and quarantined rows, both cut from one tagged plan (evaluated twice).

    Re-tagging costs less than writing every tagged row to a scratch table and reading it
    back (docs/benchmarks.md); the duplicate ranking is a total order, so both passes agree.
    The repeated serial numbers are cached: both passes and both branches read them.
    """
    repeated = repeated_serials(settlements).cache()
    tagged = tag_settlements(
        settlements, catalogs=catalog_region_list(mapping), mapping=mapping,
        national_codes=national, limits=limits, analysis=analysis,
        severities=rule_severities(quality.rules), repeated=repeated)
    return {SETTLEMENTS_CLEAN: tagged.transform(clean_rows),
            SETTLEMENTS_QUARANTINE: tagged.transform(quarantined_rows)}


def reconcile(*, settlements: DataFrame, clean: DataFrame, quarantine: DataFrame,
              analysis: AnalysisSettings) -> Outputs:
    """Rows and fees per input file and region: read = clean + quarantined (checked on write)."""
    return {RECONCILIATION: reconciliation(settlements, clean=clean, quarantine=quarantine,
                                           region_level=analysis.region_level)}


def queue_for_review(*, mapping: DataFrame, clean: DataFrame, national: DataFrame) -> Outputs:
    """Items without a code, the most money first (one ordered file: catalog-sized)."""
    return {REVIEW_QUEUE: review_queue(mapping, clean, national).coalesce(1)}


def count_items(*, clean: DataFrame) -> Outputs:
    return {ITEM_STATS: item_stats(clean)}


def find_discrepancies(*, stats: DataFrame, mapping: DataFrame, national: DataFrame,
                       classification: ClassificationSettings) -> Outputs:
    coverage = region_coverage(mapping, analysis_regions(stats, catalog_region_list(mapping)))
    return {DISCREPANT_ITEMS: stats.transform(
        discrepant_items, coverage=coverage, national=national,
        class_offset=classification.class_offset)}


def simulate_schemes(*, discrepant: DataFrame, stats: DataFrame, spark: SparkSession,
                     scenario: ScenarioSettings) -> Outputs:
    schemes = discrepant.transform(scenario_results, pairs=province_pairs(stats), spark=spark,
                                   thresholds=scenario.thresholds, scope=scenario.scope)
    return {SCENARIO_RESULTS: schemes, CLASS_SUMMARY: discrepant.transform(class_summary)}


def summarise_run(*, schemes: DataFrame, clean: DataFrame, quarantine: DataFrame,
                  mapping: DataFrame, queue: DataFrame, discrepant: DataFrame, run_id: str,
                  table_format: str, charts: bool) -> Outputs:
    """The run summary and, when charts are on, the scheme rows of every pair worth a chart."""
    summary = run_summary(clean=clean, quarantine=quarantine, mapping=mapping, queue=queue,
                          schemes=schemes, discrepant=discrepant, charts=charts)
    chart_rows = schemes.join(charted_pairs(schemes), list(PAIR), "left_semi")
    return {"exports/run_summary.json": {"run_id": run_id, "table_format": table_format, **summary},
            "exports/charts": chart_rows if charts else None}


def report_quality(*, clean: DataFrame, quarantine: DataFrame, recon: DataFrame,
                   previous: dict[str, Any] | None, run_id: str, analysis: AnalysisSettings,
                   quality: QualitySettings) -> Outputs:
    """This run's quality report beside the previous run's, with the shares that moved."""
    report: dict[str, Any] = {"run_id": run_id, **build_report(
        clean=clean, quarantine=quarantine, recon=recon, region_level=analysis.region_level)}
    alert_pct = quality.alert_share_change_pct
    report["previous_run_id"] = previous["run_id"] if previous else None
    report["previous_totals"] = previous["totals"] if previous else None
    report["alert_share_change_pct"] = alert_pct
    report["share_changes"] = share_changes(report, previous, alert_pct)
    for change in report["share_changes"]:
        if change["alert"]:
            log.warning("region %s: share of %s moved %+.2f points (now %.2f%%)",
                        change["region"], change["reason"], change["change_pct_points"],
                        change["share_pct"])
    return {"exports/quality_report.json": report, "exports/quality_report.md": render_markdown(report),
            "quality_history": report}
