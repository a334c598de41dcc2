"""The run summary (`exports/run_summary.json`): what a run read, wrote and found."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from catalogbridge.names import PAIR
from catalogbridge.quality.report import clean_by_mapping_source, mapping_by_method, records


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
