"""Small aggregate views for the run summary: where rows went and how items were mapped."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from catalogbridge.contracts import AMOUNT_TYPE


def quarantine_by_reason(quarantine: DataFrame) -> DataFrame:
    """Rows and fees per reason; a row with several reasons counts under each."""
    return (
        quarantine.select(F.explode("reasons").alias("reason"), "det_item_fee_sumamt")
        .groupBy("reason")
        .agg(F.count(F.lit(1)).alias("rows"),
             F.sum("det_item_fee_sumamt").cast(AMOUNT_TYPE).alias("fee"))
        .orderBy(F.desc("rows"), "reason")
    )


def clean_by_mapping_source(clean: DataFrame) -> DataFrame:
    """Clean rows and fees by how their item got its national code (or that it awaits review)."""
    return (
        clean.groupBy(F.coalesce("mapping_source", F.lit("none")).alias("mapping_source"))
        .agg(F.count(F.lit(1)).alias("rows"),
             F.sum("det_item_fee_sumamt").cast(AMOUNT_TYPE).alias("fee"))
        .orderBy("mapping_source")
    )


def mapping_by_method(mapping: DataFrame) -> DataFrame:
    return (mapping.groupBy("method", "review_status").agg(F.count(F.lit(1)).alias("items"))
            .orderBy("method", "review_status"))
