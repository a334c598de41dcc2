"""The pipeline's nodes: input DataFrames and settings in, output DataFrames (or documents) out.

Each node only composes transforms; reading, writing, exporting and timing are done by the
runner from the stage table (`catalogbridge.pipeline.stages`), so jobs and tests call the
same functions. What a node collects on the driver is bounded by catalogs, regions or
pairs (see README, "What stays on the driver").
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from catalogbridge.columns import in_values, lookup
from catalogbridge.decisions.groups import (
    group_harmonisation,
    group_members,
    group_rules,
    group_summary,
    group_use,
)
from catalogbridge.decisions.impact import (
    INSURED_UNIT,
    PAIR_UNIT,
    budget_tables,
    decision_cells,
    with_unit,
)
from catalogbridge.decisions.insured import insured_decisions, insured_scenarios
from catalogbridge.decisions.selection import budget_selection
from catalogbridge.decisions.settings import THRESHOLD_MEASURES, DecisionSettings
from catalogbridge.io.deliveries import SettlementSource
from catalogbridge.io.readers import InputError, InputsSettings
from catalogbridge.io.session import SPLIT_BYTES
from catalogbridge.io.store import PartitionReplace
from catalogbridge.matching.catalog import (
    catalog_conflicts,
    catalog_region_list,
    dedupe_catalog,
    library_from_table,
    load_qualifier_lists,
    load_synonyms,
    map_catalog,
    national_library_table,
    national_name_conflicts,
    standardize_catalog,
)
from catalogbridge.matching.learning import apply_learning
from catalogbridge.matching.review import DecisionError, apply_decisions, read_decisions, review_queue
from catalogbridge.matching.settings import MatchingSettings
from catalogbridge.names import (
    BUDGET_FRONTIER,
    BUDGET_IMPACT,
    BUDGET_SENSITIVITY,
    CATALOG_MAPPING,
    CLASS_SUMMARY,
    CLEAN,
    DISCREPANT_ITEMS,
    GROUP_HARMONISATION,
    GROUP_SUMMARY,
    GROUP_USE,
    INSURED,
    INSURED_DECISIONS,
    INSURED_SCENARIOS,
    ITEM_MED_TYPES,
    ITEM_STATS,
    MONTH,
    NATIONAL_ITEMS,
    OPTIMAL_ITEMS,
    PAIR,
    QUARANTINED,
    RECONCILIATION,
    REVIEW_QUEUE,
    SCENARIO_RESULTS,
    SCHEME_COMPARISON,
    SETTLEMENT_DELIVERIES,
    SETTLEMENT_ROWS,
    SOURCE_FILE,
    STATUS,
    TAGGED_RUN,
)
from catalogbridge.privacy.settings import PrivacySettings
from catalogbridge.publication.cells import SchemeRule
from catalogbridge.publication.tables import publish
from catalogbridge.quality.reconciliation import reconciliation
from catalogbridge.quality.rules import QualitySettings, rule_severities
from catalogbridge.transforms.cleaning import (
    TAGGING_VERSION,
    AnalysisSettings,
    repeated_serials,
    settlement_rows,
    tag_settlements,
)
from catalogbridge.transforms.discrepancy import (
    ClassificationSettings,
    analysis_regions,
    discrepant_items,
    region_coverage,
)
from catalogbridge.transforms.incremental import (
    SHARED_SERIALS,
    UNCHANGED,
    PreviousFile,
    content_hash,
    month_changes,
    months_sharing_serials,
    tagging_fingerprint,
)
from catalogbridge.transforms.scenarios import (
    ScenarioSettings,
    class_summary,
    in_scope,
    province_pairs,
    scenario_results,
)
from catalogbridge.transforms.statistics import item_med_type_use, item_stats

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
    library = library_from_table(national, load_synonyms(matching.synonyms_path), matching,
                                 load_qualifier_lists(matching.synonyms_path))
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
    if decisions is not None:  # rules are learned from the reviewed rows, then applied
        mapping = mapping.cache().transform(apply_learning, national=national)
    return {CATALOG_MAPPING: mapping}


def clean_settlements(*, source: SettlementSource, stored: DataFrame | None,
                      delivered: DataFrame | None, mapping: DataFrame, national: DataFrame,
                      limits: DataFrame | None, spark: SparkSession, run_id: str,
                      analysis: AnalysisSettings, quality: QualitySettings) -> Outputs:
    """Tag the rows of new, re-delivered or affected months once; keep every other month.

    The result equals tagging all files from scratch (`catalogbridge.transforms.incremental`
    says why); `stored` is settlement_rows and `delivered` settlement_deliveries as the
    previous run left them. The repeated serial numbers are cached: both branches of the
    duplicate check read them.
    """
    severities = rule_severities(quality.rules)
    tagging = tagging_fingerprint({
        "version": TAGGING_VERSION, "analysis": asdict(analysis), "rules": severities,
        "input": asdict(source.spec), "split_bytes": spark.conf.get(SPLIT_BYTES),
        "pseudonyms": source.pseudonyms.fingerprint,
        "mapping": content_hash(mapping, ["catalog_region", "local_code", "national_code"]),
        "national": content_hash(national, ["national_code"]),
        "limits": None if limits is None else content_hash(limits, list(limits.columns)),
    })
    previous = None if delivered is None or stored is None else [
        PreviousFile(*row) for row in delivered.select(
            SOURCE_FILE, MONTH, "size_bytes", "modified_ms", "tagging", TAGGED_RUN).collect()]
    changes = _months_to_tag(source, stored, month_changes(source.files, previous, tagging))
    retag = sorted((m for m, change in changes.items() if change != UNCHANGED), key=str)
    kept = len(changes) - len(retag)
    log.info("settlement months: %d tagged (%s), %d kept as stored", len(retag), ", ".join(
        f"{m or 'undated'} {changes[m]}" for m in retag) or "none", kept)
    others = None if stored is None or not kept else \
        stored.where(~in_values(F.col(MONTH), retag))
    to_read = set(retag) & source.months
    if to_read:
        new_rows = source.read(to_read)
        rows = tag_settlements(
            new_rows, catalogs=catalog_region_list(mapping), mapping=mapping,
            national_codes=national, limits=limits, analysis=analysis, severities=severities,
            repeated=repeated_serials(new_rows, others).cache(), others=others,
        ).transform(settlement_rows)
    else:  # nothing to read: removed months are emptied, or nothing changed at all
        assert stored is not None, "a first run always has files to read"
        rows = stored.limit(0)
    listing = source.listing().withColumns({
        "tagging": F.lit(tagging), TAGGED_RUN: F.lit(run_id),
        "change": lookup({str(m): c for m, c in changes.items()}, F.coalesce(F.col(MONTH), F.lit("None")))})
    if previous is not None and kept:
        earlier = spark.createDataFrame([(p.path, p.tagged_run) for p in previous],
                                        f"{SOURCE_FILE} string, _earlier string")
        listing = listing.join(earlier, SOURCE_FILE, "left").withColumn(
            TAGGED_RUN, F.when(F.col("change") == UNCHANGED, F.col("_earlier"))
            .otherwise(F.col(TAGGED_RUN))).drop("_earlier")
    return {SETTLEMENT_ROWS: PartitionReplace(rows, MONTH, None if others is None else tuple(retag)),
            SETTLEMENT_DELIVERIES: listing}


def _months_to_tag(source: SettlementSource, stored: DataFrame | None,
                   changes: dict[str | None, str]) -> dict[str | None, str]:
    """`changes`, plus the stored months sharing a serial number with a changed month."""
    changed = [m for m, change in changes.items() if change != UNCHANGED]
    if stored is None or not changed or len(changed) == len(changes):
        return changes
    present = set(changed) & source.months
    shared = months_sharing_serials(stored, source.read(present) if present else None, changed)
    return {**changes, **{m: SHARED_SERIALS for m in shared}}


def reconcile(*, source: SettlementSource, rows: DataFrame, deliveries: DataFrame,
              previous: DataFrame | None, analysis: AnalysisSettings) -> Outputs:
    """Rows and fees per input file and region: read = clean + quarantined (checked on write).

    A file keeps the counts of the run that tagged it when that run counted it too (its
    rows did not change since). The months of all other files are read again and counted:
    files tagged in this run, and files tagged by a `clean_settlements` run of its own,
    which counts nothing (a reconciliation without `tagged_run`, from an older version,
    is counted again in full).
    """
    files = deliveries.select(SOURCE_FILE, MONTH, TAGGED_RUN)
    counted = None if previous is None or TAGGED_RUN not in previous.columns else \
        previous.select(SOURCE_FILE, TAGGED_RUN).distinct()
    uncounted = files if counted is None else \
        files.join(counted, [SOURCE_FILE, TAGGED_RUN], "left_anti")
    months = sorted({row[0] for row in uncounted.select(MONTH).distinct().collect()}, key=str)
    parts = []
    if months:
        fresh = rows.where(in_values(F.col(MONTH), months))
        parts.append(reconciliation(
            source.read(set(months)), clean=fresh.where(F.col(STATUS) == CLEAN),
            quarantine=fresh.where(F.col(STATUS) == QUARANTINED),
            region_level=analysis.region_level,
        ).join(files.select(SOURCE_FILE, TAGGED_RUN), SOURCE_FILE, "left"))
    if previous is not None and counted is not None:
        kept = files.where(~in_values(F.col(MONTH), months)).select(SOURCE_FILE, TAGGED_RUN)
        parts.append(previous.join(kept, [SOURCE_FILE, TAGGED_RUN], "left_semi"))
    recon = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
    return {RECONCILIATION: recon}


def queue_for_review(*, mapping: DataFrame, clean: DataFrame, national: DataFrame) -> Outputs:
    """Items without a code, the most money first (one ordered file: catalog-sized)."""
    return {REVIEW_QUEUE: review_queue(mapping, clean, national).coalesce(1)}


def count_items(*, clean: DataFrame) -> Outputs:
    return {ITEM_STATS: item_stats(clean), ITEM_MED_TYPES: item_med_type_use(clean)}


def _coverage(stats: DataFrame, mapping: DataFrame) -> DataFrame:
    """Which items each analysis region's catalog covers."""
    return region_coverage(mapping, analysis_regions(stats, catalog_region_list(mapping)))


def find_discrepancies(*, stats: DataFrame, mapping: DataFrame, national: DataFrame,
                       classification: ClassificationSettings) -> Outputs:
    return {DISCREPANT_ITEMS: stats.transform(
        discrepant_items, coverage=_coverage(stats, mapping), national=national,
        class_offset=classification.class_offset)}


def simulate_schemes(*, discrepant: DataFrame, stats: DataFrame, spark: SparkSession,
                     scenario: ScenarioSettings) -> Outputs:
    schemes = discrepant.transform(scenario_results, pairs=province_pairs(stats), spark=spark,
                                   thresholds=scenario.thresholds, scope=scenario.scope)
    return {SCENARIO_RESULTS: schemes, CLASS_SUMMARY: discrepant.transform(class_summary)}


def decide_per_insured(*, discrepant: DataFrame, stats: DataFrame, spark: SparkSession,
                       scenario: ScenarioSettings, decision: DecisionSettings) -> Outputs:
    """Each insured region's decision view (home use once) and its threshold schemes."""
    decisions = discrepant.transform(insured_decisions).cache()  # both outputs read it
    insured = province_pairs(stats).select(INSURED).distinct()
    schemes = decisions.transform(
        insured_scenarios, insured=insured, spark=spark, scope=scenario.scope,
        thresholds=decision.thresholds or scenario.thresholds, threshold_on=decision.threshold_on)
    return {INSURED_DECISIONS: decisions, INSURED_SCENARIOS: schemes}


def harmonise_groups(*, stats: DataFrame, mapping: DataFrame, national: DataFrame,
                     spark: SparkSession, classification: ClassificationSettings,
                     decision: DecisionSettings, analysis: AnalysisSettings) -> Outputs:
    """What each member of each region group adds under a common catalog, and the totals.

    At city level the analysis regions are collected to expand province members (one row
    per region: bounded by the regions, a few hundred)."""
    # Each is read by more than one output: computed once for the stage.
    coverage = _coverage(stats, mapping).cache()
    regions = coverage.select("region").distinct()
    listed = [] if analysis.region_level == "province" else \
        [row[0] for row in regions.collect()]
    groups = group_members(decision.groups, regions=listed, region_level=analysis.region_level)
    majority = {name: decision.majority(len(m)) for name, m in groups.items()}
    rules = group_rules(spark, groups, majority)
    use = stats.transform(group_use, coverage=coverage, rules=rules).cache()
    added = use.transform(group_harmonisation, coverage=coverage, rules=rules,
                          national=national, class_offset=classification.class_offset).cache()
    return {GROUP_HARMONISATION: added, GROUP_USE: use,
            GROUP_SUMMARY: added.transform(group_summary, rules=rules, regions=regions)}


def estimate_budget(*, discrepant: DataFrame, decisions: DataFrame, pair_schemes: DataFrame,
                    insured_schemes: DataFrame, group_use: DataFrame, groups: DataFrame,
                    med_types: DataFrame, spark: SparkSession, scenario: ScenarioSettings,
                    decision: DecisionSettings) -> Outputs:
    """Yearly budget impact (current vs new world, fund and patient, Monte Carlo interval)
    and tornado data for every pair, insured region and region group."""
    cells = decision_cells(
        discrepant=discrepant, decisions=decisions, pair_schemes=pair_schemes,
        insured_schemes=insured_schemes, group_use=group_use, groups=groups,
        med_types=med_types, spark=spark, scenario=scenario, decision=decision).cache()
    impact, sensitivity = budget_tables(cells, settings=decision.budget)
    return {BUDGET_IMPACT: impact, BUDGET_SENSITIVITY: sensitivity}


def select_within_budget(*, discrepant: DataFrame, decisions: DataFrame,
                         pair_schemes: DataFrame, insured_schemes: DataFrame,
                         scenario: ScenarioSettings, decision: DecisionSettings) -> Outputs:
    """The budget-optimal item sets of every insured region and pair under the caps, and
    each threshold scheme beside the best set costing no more."""
    units = (
        (INSURED_UNIT, (INSURED,), in_scope(decisions, scenario.scope).select(
            INSURED, "national_code", "function", F.col("fee_total").alias("cost"),
            F.col("visits_total").alias("visits")), insured_schemes),
        (PAIR_UNIT, PAIR, in_scope(discrepant, scenario.scope).select(
            *PAIR, "national_code", "function",
            (F.col("fee_treatment") + F.col("fee_home")).alias("cost"),
            (F.col("visits_treatment") + F.col("visits_home")).alias("visits")), pair_schemes),
    )
    frontiers, chosen, compared = [], [], []
    for kind, keys, items, schemes in units:
        frontier, optimal, comparison = budget_selection(items, schemes=schemes, keys=keys,
                                                         settings=decision.selection)
        frontiers.append(with_unit(frontier, kind))
        chosen.append(with_unit(optimal, kind))
        compared.append(with_unit(comparison, kind))
    tables = {BUDGET_FRONTIER: frontiers[0].unionByName(frontiers[1]),
              OPTIMAL_ITEMS: chosen[0].unionByName(chosen[1]),
              SCHEME_COMPARISON: compared[0].unionByName(compared[1])}
    if not decision.selection.enabled:
        log.info("decision.selection.enabled is false: the selection tables are left empty")
        return {name: table.limit(0) for name, table in tables.items()}
    return tables


def publish_tables(*, discrepant: DataFrame, classes: DataFrame, pair_schemes: DataFrame,
                   decisions: DataFrame, insured_schemes: DataFrame, scenario: ScenarioSettings,
                   decision: DecisionSettings, privacy: PrivacySettings) -> Outputs:
    """The published copies of the tables users receive: visit counts below privacy.min_cell
    hidden, with what would reveal them, and the audit passed per insured region."""
    pair_rule = SchemeRule(tuple(scenario.thresholds), scenario.scope, "visits_treatment")
    insured_rule = SchemeRule(tuple(decision.thresholds or scenario.thresholds), scenario.scope,
                              THRESHOLD_MEASURES[decision.threshold_on])
    tables = {DISCREPANT_ITEMS: discrepant, CLASS_SUMMARY: classes,
              SCENARIO_RESULTS: pair_schemes, INSURED_DECISIONS: decisions,
              INSURED_SCENARIOS: insured_schemes}
    return publish(tables, pair_rule=pair_rule, insured_rule=insured_rule,
                   min_cell=privacy.min_cell, mark=privacy.mark)
