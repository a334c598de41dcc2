"""Catalog transforms: standardise catalogs, map them to national codes, build the review queue."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

from catalogbridge.columns import canonical_level, is_covered, region_of
from udfs.matching import NEEDS_REVIEW, RESULT_COLUMNS, MatchParams, NationalLibrary
from udfs.matching import catalog_matcher as _catalog_matcher

CATALOG_KEY = ("catalog_region", "local_code")
_SPARK_TYPES = {"double": DoubleType(), "string": StringType()}


def national_library_table(national: DataFrame) -> DataFrame:
    """The national library as a table: one row per code, with its class digits' base code."""
    return national.select(
        F.col("item_code").alias("national_code"),
        F.col("item_name").alias("national_name"),
        "item_desc",
        "unit",
    ).where(F.col("national_code").isNotNull())


def standardize_catalog(catalogs: DataFrame, *, region_level: str) -> DataFrame:
    """Contract catalog rows -> one row per local item with canonical level and coverage."""
    level = canonical_level(F.col("chrgitm_lv"))
    return catalogs.select(
        F.col("admdvs").alias("catalog_admdvs"),
        region_of(F.col("admdvs"), region_level).alias("catalog_region"),
        F.col("item_code").alias("local_code"),
        F.col("item_name").alias("local_name"),
        F.col("chrgitm_lv").alias("chrgitm_lv_raw"),
        level.alias("chrgitm_lv"),
        is_covered(level).alias("covered"),
        F.col("national_code").alias("provided_code"),
    )


def catalog_conflicts(catalog: DataFrame) -> DataFrame:
    """Local codes listed more than once in a region with different coverage levels."""
    return (
        catalog.where(F.col("local_code").isNotNull())
        .groupBy(*CATALOG_KEY)
        .agg(F.sort_array(F.collect_set(F.coalesce("chrgitm_lv", F.lit("?")))).alias("levels"),
             F.count(F.lit(1)).alias("rows"))
        .where(F.size("levels") > 1)
    )


def dedupe_catalog(catalog: DataFrame) -> DataFrame:
    """Keep one row per (region, local code); conflicting duplicates are rejected earlier."""
    return catalog.dropDuplicates(list(CATALOG_KEY))


def library_from_table(national_items: DataFrame) -> NationalLibrary:
    """Collect the library to the driver (catalog-sized: ~10^4 rows) for broadcasting."""
    pdf = national_items.select("national_code", "national_name").toPandas()
    return NationalLibrary(pdf["national_code"].tolist(), pdf["national_name"].fillna("").tolist())


def map_catalog(catalog: DataFrame, *, spark: SparkSession, library: NationalLibrary,
                params: MatchParams, run_id: str) -> DataFrame:
    """Add the national code, method, scores and review status to every catalog item."""
    broadcast = spark.sparkContext.broadcast(library)
    inputs = catalog.select(
        *CATALOG_KEY, "catalog_admdvs", "local_name", "chrgitm_lv_raw", "chrgitm_lv", "covered",
        "provided_code",
    )
    schema = StructType(
        list(inputs.schema.fields)
        + [StructField(name, _SPARK_TYPES[tp]) for name, tp in RESULT_COLUMNS.items()]
    )
    matched = inputs.mapInPandas(_catalog_matcher(broadcast, params), schema)
    return matched.withColumn("run_id", F.lit(run_id))


def review_queue(mapping: DataFrame) -> DataFrame:
    """Items without an accepted national code, for reviewers (uncertain first)."""
    return (
        mapping.where(F.col("national_code").isNull())
        .select(
            "catalog_region", "catalog_admdvs", "local_code", "local_name", "chrgitm_lv",
            "review_status", "candidate_code", "candidate_name", "score", "runner_up_score",
            "code_conflict", "run_id",
        )
        .orderBy(F.col("review_status") != NEEDS_REVIEW, F.desc_nulls_last("score"),
                 *CATALOG_KEY)
    )


def with_catalog_region(df: DataFrame, *, region_col: str, out_col: str,
                        catalog_regions: DataFrame) -> DataFrame:
    """Which catalog settles a region: its own, else its province's (city-level analysis).

    `catalog_regions` is tiny (one row per catalog), so both joins are broadcast.
    """
    own = F.broadcast(catalog_regions.select(F.col("catalog_region").alias("_own")).distinct())
    prov = F.broadcast(catalog_regions.select(F.col("catalog_region").alias("_prov")).distinct())
    return (
        df.join(own, F.col(region_col) == F.col("_own"), "left")
        .join(prov, region_of(F.col(region_col), "province") == F.col("_prov"), "left")
        .withColumn(out_col, F.coalesce("_own", "_prov"))
        .drop("_own", "_prov")
    )
