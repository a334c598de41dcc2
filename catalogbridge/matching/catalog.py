"""Catalog transforms: standardise catalogs and map their items to national codes.

The Spark side of matching; the pure core and its `mapInPandas` wrapper are in `udfs`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pyspark.sql import DataFrame, SparkSession, Window
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
from catalogbridge.io.readers import InputError
from catalogbridge.names import CATALOG_KEY
from udfs.families import Qualifiers, load_qualifiers
from udfs.matching import RESULT_COLUMNS, MatchParams, NationalLibrary, catalog_matcher
from udfs.normalize import BASIC, Normalizer, load_normalizer

T = TypeVar("T")


def national_library_table(national: DataFrame) -> DataFrame:
    """The national library as a table, one row per code.

    A code listed twice with the same name (different names are rejected by
    `national_name_conflicts`) keeps the row with a description, then with a unit, the
    first in text order among equals, whatever the order of the input rows.
    """
    library = national.select(
        F.col("item_code").alias("national_code"),
        F.col("item_name").alias("national_name"),
        "item_desc",
        "unit",
    ).where(F.col("national_code").isNotNull())
    preference = Window.partitionBy("national_code").orderBy(
        F.col("item_desc").asc_nulls_last(), F.col("unit").asc_nulls_last())
    return (library.withColumn("_preference", F.row_number().over(preference))
            .where(F.col("_preference") == 1).drop("_preference"))


def national_name_conflicts(library: DataFrame) -> DataFrame:
    """Codes listed with more than one name: which one is meant cannot be decided for the user."""
    return (library.groupBy("national_code").agg(F.countDistinct("national_name").alias("names"))
            .where(F.col("names") > 1))


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
    """Keep one row per (region, local code); duplicates with different levels are rejected
    earlier (`catalog_conflicts`).

    Which row stays does not depend on file order: the region's own catalog before a city
    catalog folded into it, then the lowest catalog code, then the name, the provided code
    and the level as written, in text order. With `partitions`, the one shuffle that dedupes
    also spreads the items evenly over that many matching tasks (an explicit count, so
    adaptive execution keeps it).
    """
    if partitions:
        catalog = catalog.repartition(partitions, *CATALOG_KEY)
    preference = Window.partitionBy(*CATALOG_KEY).orderBy(
        (F.col("catalog_admdvs") != F.col("catalog_region")).asc_nulls_last(),
        F.col("catalog_admdvs").asc_nulls_last(), F.col("local_name").asc_nulls_last(),
        F.col("provided_code").asc_nulls_last(), F.col("chrgitm_lv_raw").asc_nulls_last())
    return (catalog.withColumn("_preference", F.row_number().over(preference))
            .where(F.col("_preference") == 1).drop("_preference"))


def load_synonyms(path: str | None) -> Normalizer:
    """The normaliser with the synonym lists at `matching.synonyms_path` (None: built-in rules)."""
    return _read_lists(path, load_normalizer)


def load_qualifier_lists(path: str | None) -> Qualifiers:
    """The local qualifier vocabularies of the same file (None: none)."""
    return _read_lists(path, load_qualifiers)


def _read_lists(path: str | None, loader: Callable[[str | None], T]) -> T:
    if path is not None and not Path(path).is_file():
        raise InputError(f"matching.synonyms_path: no file at {path!r} (relative paths start at "
                         "the working directory; null = no synonyms)")
    try:
        return loader(path)
    except ValueError as exc:
        raise InputError(f"matching.synonyms_path: {exc}") from None


def library_from_table(national_items: DataFrame, normalizer: Normalizer = BASIC,
                       params: MatchParams | None = None,
                       qualifiers: Qualifiers | None = None) -> NationalLibrary:
    """Collect the library to the driver (catalog-sized: ~10^4 rows) and index it once there.

    The prefilter index is built here, before broadcasting, so executors only unpickle it.
    """
    pdf = national_items.select("national_code", "national_name").toPandas()
    library = NationalLibrary(pdf["national_code"].tolist(),
                              pdf["national_name"].fillna("").tolist(), normalizer, qualifiers)
    params = params or MatchParams()
    library.index(params.prefilter_score)
    library.index(params.candidate_floor)
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
    matched = inputs.mapInPandas(catalog_matcher(broadcast, params), schema)
    return matched.withColumn("run_id", F.lit(run_id))


def _parse_type(name: str) -> DataType:
    return {"double": DoubleType(), "string": StringType(),
            "array<string>": ArrayType(StringType()),
            "array<double>": ArrayType(DoubleType())}[name]


def catalog_region_list(mapping: DataFrame) -> list[str]:
    """The regions that have a catalog, collected (one value per catalog) for `catalog_of`."""
    rows = mapping.select("catalog_region").distinct().collect()
    return sorted(r[0] for r in rows if r[0] is not None)
