"""Catalog transforms: standardise catalogs and map them to national codes (review: review.py)."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    DataType,
    DoubleType,
    StringType,
    StructField,
    StructType,
)

from catalogbridge.columns import canonical_level, is_covered, region_of
from udfs.matching import RESULT_COLUMNS, MatchParams, NationalLibrary
from udfs.matching import catalog_matcher as _catalog_matcher
from udfs.normalize import BASIC, Normalizer

CATALOG_KEY = ("catalog_region", "local_code")


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


def dedupe_catalog(catalog: DataFrame, partitions: int | None = None) -> DataFrame:
    """Keep one row per (region, local code); conflicting duplicates are rejected earlier.

    With `partitions`, the one shuffle that dedupes also spreads the items evenly over that
    many matching tasks (an explicit count, so adaptive execution keeps it).
    """
    if partitions:
        catalog = catalog.repartition(partitions, *CATALOG_KEY)
    return catalog.dropDuplicates(list(CATALOG_KEY))


def library_from_table(national_items: DataFrame, normalizer: Normalizer = BASIC,
                       params: MatchParams | None = None) -> NationalLibrary:
    """Collect the library to the driver (catalog-sized: ~10^4 rows) and index it once there.

    The prefilter index is built here, before broadcasting, so executors only unpickle it.
    """
    pdf = national_items.select("national_code", "national_name").toPandas()
    library = NationalLibrary(pdf["national_code"].tolist(),
                              pdf["national_name"].fillna("").tolist(), normalizer)
    params = params or MatchParams()
    library.index(params.prefilter_score)
    library.neighbours(params.tie_margin)
    return library


def map_catalog(catalog: DataFrame, *, spark: SparkSession, library: NationalLibrary,
                params: MatchParams, run_id: str) -> DataFrame:
    """Add the national code, method, scores, candidates and review status to every item.

    One task per partition (`dedupe_catalog` sets how many; few, as each costs a Python
    round trip), each scoring Arrow batches with the broadcast library; no row-at-a-time
    Python.
    """
    broadcast = spark.sparkContext.broadcast(library)
    inputs = catalog.select(
        *CATALOG_KEY, "catalog_admdvs", "local_name", "chrgitm_lv_raw", "chrgitm_lv", "covered",
        "provided_code",
    )
    schema = StructType(
        list(inputs.schema.fields)
        + [StructField(name, _parse_type(tp)) for name, tp in RESULT_COLUMNS.items()]
    )
    matched = inputs.mapInPandas(_catalog_matcher(broadcast, params), schema)
    return matched.withColumn("run_id", F.lit(run_id))


def _parse_type(name: str) -> DataType:
    return {"double": DoubleType(), "string": StringType(),
            "array<string>": ArrayType(StringType()),
            "array<double>": ArrayType(DoubleType())}[name]


def catalog_region_list(mapping: DataFrame) -> list[str]:
    """The regions that have a catalog, collected (one value per catalog) for `catalog_of`."""
    rows = mapping.select("catalog_region").distinct().collect()
    return sorted(r[0] for r in rows if r[0] is not None)
