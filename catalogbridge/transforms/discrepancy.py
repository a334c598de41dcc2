"""Discrepant items (paper 1.4): covered where treated, not covered where insured, used there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import LongType

from catalogbridge.columns import amount, catalog_of, class_l1, class_l2, item_function
from catalogbridge.names import INSURED, PAIR, TREATMENT
from catalogbridge.settings import SettingError

ITEM_COLUMNS = ("national_code", "national_name", "class_l1", "class_l2", "function")


@dataclass(frozen=True)
class ClassificationSettings:
    """Where the class digits sit in the national code (conf `classification`)."""

    class_offset: int = 2  # 0-based: characters 3 (level 1) and 3-4 (level 2) of 15

    def __post_init__(self) -> None:
        if self.class_offset < 0:
            raise SettingError("class_offset", "must be >= 0")


def analysis_regions(stats: DataFrame, catalogs: Sequence[str]) -> DataFrame:
    """(region, catalog_region): every region in the statistics and the catalog that settles it."""
    regions = (stats.select(F.col(INSURED).alias("region"))
               .union(stats.select(F.col(TREATMENT).alias("region"))).distinct())
    return regions.withColumn("catalog_region", catalog_of(F.col("region"), catalogs))


def region_coverage(mapping: DataFrame, lookup: DataFrame) -> DataFrame:
    """(region, national_code, covered): covered when any catalog row for it is level 01/02."""
    items = (
        mapping.where(F.col("national_code").isNotNull())
        .groupBy("catalog_region", "national_code")
        .agg(F.max(F.col("covered").cast("int")).cast("boolean").alias("covered"))
    )
    return lookup.join(items, "catalog_region").select("region", "national_code", "covered")


def discrepant_items(stats: DataFrame, *, coverage: DataFrame, national: DataFrame,
                     class_offset: int = 2) -> DataFrame:
    """Items covered in T, not covered in P, used by P's insured in T; with home-side use."""
    away = stats.where((F.col(INSURED) != F.col(TREATMENT)) & (F.col("visits") >= 1))
    home = stats.where(F.col(INSURED) == F.col(TREATMENT)).select(
        INSURED, "national_code",
        F.col("visits").alias("visits_home"), F.col("fee").alias("fee_home"))
    covered = coverage.where("covered")
    covered_t = covered.select(F.col("region").alias(TREATMENT), "national_code")
    covered_p = covered.select(F.col("region").alias(INSURED), "national_code")
    return (
        away.join(covered_t, [TREATMENT, "national_code"], "left_semi")
        .join(covered_p, [INSURED, "national_code"], "left_anti")
        .join(home, [INSURED, "national_code"], "left")
        .transform(with_item_names, national=national, class_offset=class_offset)
        .select(
            *PAIR, *ITEM_COLUMNS,
            F.col("visits").alias("visits_treatment"), F.col("fee").alias("fee_treatment"),
            F.coalesce("visits_home", F.lit(0)).cast(LongType()).alias("visits_home"),
            amount(F.coalesce("fee_home", F.lit(0))).alias("fee_home"),
        )
    )


def with_item_names(items: DataFrame, *, national: DataFrame, class_offset: int = 2) -> DataFrame:
    """`national_name`, `class_l1`, `class_l2` and `function` beside each `national_code`."""
    l1 = class_l1(F.col("national_code"), class_offset)
    l2 = class_l2(F.col("national_code"), class_offset)
    return (items.join(national.select("national_code", "national_name"), "national_code", "left")
            .withColumns({"class_l1": l1, "class_l2": l2, "function": item_function(l1, l2)}))
