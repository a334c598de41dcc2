"""The run summary (`exports/run_summary.json`): what a run read, wrote and found."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from catalogbridge.decisions.budget import BudgetSettings
from catalogbridge.decisions.impact import INSURED_UNIT
from catalogbridge.names import INSURED, PAIR, TREATMENT
from catalogbridge.quality.report import clean_by_mapping_source, mapping_by_method, records

GROUP_USE_MEASURES = ("visits", "added_spend")  # group_summary's sums of its members' use


def charted_pairs(schemes: DataFrame) -> DataFrame:
    """Pairs with discrepant items in scope: the ones that get a chart (an all-zero one tells nothing)."""
    return schemes.groupBy(*PAIR).agg(F.max("item_count").alias("_items")).where(
        F.col("_items") > 0).select(*PAIR)


def run_summary(*, clean: DataFrame, quarantine: DataFrame, mapping: DataFrame,
                queue: DataFrame, schemes: DataFrame, discrepant: DataFrame,
                charts: bool) -> dict[str, Any]:
    """Totals and breakdowns, each a count or an aggregate bounded by methods or sources."""
    totals = {
        "settlement_rows_clean": clean.count(),
        "settlement_rows_quarantined": quarantine.count(),
        "catalog_items": mapping.count(),
        "review_queue_items": queue.count(),
        "pairs": schemes.select(*PAIR).distinct().count(),
        "discrepant_items": discrepant.count(),
        "charts": charted_pairs(schemes).count() if charts else 0,
    }
    return {
        "totals": totals,
        "clean_by_mapping_source": records(clean_by_mapping_source(clean)),
        "mapping_by_method": records(mapping_by_method(mapping)),
    }


def decision_summary(*, stats: DataFrame, insured: DataFrame, groups: DataFrame) -> dict[str, Any]:
    """What the decision stages computed, and the regions they could say little about.

    Bounded by regions and groups: insured regions whose insured have no use at home (their
    home use is 0 in the decision view), group totals, group members absent from the data.
    The summary is published: a group's visits and spend, sums over its members' insured
    that no suppression covers yet, stay in the internal group_summary export.
    """
    regions = insured.select(INSURED).distinct()
    home = stats.where(F.col(INSURED) == F.col(TREATMENT)).select(INSURED).distinct()
    absent = (groups.where(~F.col("in_data")).select("group_name", INSURED).distinct()
              .orderBy("group_name", INSURED))
    totals = (groups.where(F.col(INSURED).isNull())
              .drop(INSURED, "in_data", *GROUP_USE_MEASURES)
              .orderBy("group_name", "min_members"))
    return {
        "insured_regions": regions.count(),
        "insured_without_home_data": sorted(
            r[0] for r in regions.join(home, INSURED, "left_anti").collect()),
        "groups": records(totals),
        "group_members_without_data": records(absent),
    }


def budget_summary(*, impact: DataFrame, frontier: DataFrame,
                   budget: BudgetSettings) -> dict[str, Any]:
    """The budget model's parameters and what it covered: units per kind, insured regions
    whose frontier reaches a plateau (bounded by unit kinds and regions)."""
    units = impact.select("unit", INSURED, TREATMENT, "group_name", "rule").distinct()
    plateau = frontier.where((F.col("unit") == INSURED_UNIT) & F.col("plateau"))
    return {
        "horizon_years": budget.horizon_years, "uptake": budget.uptake,
        "fund_share": budget.fund_share, "fund_share_rules": len(budget.fund_share_by),
        "draws": budget.draws, "seed": budget.seed,
        "units": {r["unit"]: r["count"] for r in units.groupBy("unit").count().collect()},
        "insured_with_plateau": plateau.select(INSURED).distinct().count(),
    }
