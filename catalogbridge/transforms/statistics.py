"""Item statistics (paper 1.3): visits and fees per insured region, treatment region and item."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import LongType

from catalogbridge.columns import amount
from catalogbridge.names import FEE, STATS_KEY, VISIT


def item_stats(clean: DataFrame) -> DataFrame:
    """Visits (distinct `mdtrt_id`), fees and lines per (insured, treatment, national code).

    Several lines of one visit for one item are one visit; rows still awaiting review (no
    national code) are not counted here (the review queue shows their money at stake).
    """
    return (
        clean.where(F.col("national_code").isNotNull())
        .groupBy(*STATS_KEY)
        .agg(
            F.countDistinct(VISIT).cast(LongType()).alias("visits"),
            amount(F.sum(FEE)).alias("fee"),
            F.count(F.lit(1)).cast(LongType()).alias("lines"),
        )
    )


def item_med_type_use(clean: DataFrame) -> DataFrame:
    """Visits and fees of `item_stats` split by `med_type` (the fund's share depends on it).

    A visit belongs to one med_type (医疗类别 is an attribute of the 就诊 record), so the
    visits of an item's med_types add up to its visits.
    """
    return (
        clean.where(F.col("national_code").isNotNull())
        .groupBy(*STATS_KEY, "med_type")
        .agg(F.countDistinct(VISIT).cast(LongType()).alias("visits"),
             amount(F.sum(FEE)).alias("fee"))
    )
