"""The paper's definitions as Column helpers, each on a tiny frame with a hand-made answer."""

from __future__ import annotations

from chispa import assert_column_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from catalogbridge.columns import (
    canonical_level,
    catalog_of,
    class_l1,
    class_l2,
    is_covered,
    item_function,
    pct,
    region_of,
)


def test_region_of_province_and_city(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [("330102", "330000", "330100"), ("310000", "310000", "310000"), ("33010", None, None),
         ("33A102", None, None), (None, None, None)],
        "code string, province string, city string")
    df = df.withColumns({"got_p": region_of(F.col("code"), "province"),
                         "got_c": region_of(F.col("code"), "city")})
    assert_column_equality(df, "got_p", "province")
    assert_column_equality(df, "got_c", "city")


def test_catalog_of_own_then_province(spark: SparkSession) -> None:
    """Shanghai's city region has its own catalog; Hangzhou falls back to Zhejiang's."""
    df = spark.createDataFrame(
        [("310100", "310100"), ("330100", "330000"), ("330000", "330000"), ("440100", None),
         (None, None)],
        "region string, expected string")
    df = df.withColumn("got", catalog_of(F.col("region"), ["310100", "330000"]))
    assert_column_equality(df, "got", "expected")


def test_levels_and_coverage(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [("01", "01", True), ("甲类", "01", True), ("乙", "02", True), (" 2 ", "02", True),
         ("03", "03", False), ("丙类", "03", False), ("自费", "03", False), ("4", None, False),
         (None, None, False)],
        "raw string, level string, covered boolean")
    df = df.withColumn("got_level", canonical_level(F.col("raw")))
    df = df.withColumn("got_covered", is_covered(F.col("got_level")))
    assert_column_equality(df, "got_level", "level")
    assert_column_equality(df, "got_covered", "covered")


def test_class_and_function(spark: SparkSession) -> None:
    df = spark.createDataFrame([
        ("001102000010000", "1", "11", "diagnostic"),
        ("002501000010000", "2", "25", "diagnostic"),
        ("002401000010000", "2", "24", "therapeutic"),   # radiotherapy is therapeutic
        ("003302000010000", "3", "33", "therapeutic"),
        ("004301000010000", "4", "43", "therapeutic"),
    ], "code string, l1 string, l2 string, function string")
    df = df.withColumns({"got_l1": class_l1(F.col("code")), "got_l2": class_l2(F.col("code"))})
    df = df.withColumn("got_function", item_function(F.col("got_l1"), F.col("got_l2")))
    for got, want in (("got_l1", "l1"), ("got_l2", "l2"), ("got_function", "function")):
        assert_column_equality(df, got, want)


def test_class_offset_is_configurable(spark: SparkSession) -> None:
    df = spark.createDataFrame([("3302000010000", "3", "33")], "code string, l1 string, l2 string")
    df = df.withColumns({"got_l1": class_l1(F.col("code"), 0), "got_l2": class_l2(F.col("code"), 0)})
    assert_column_equality(df, "got_l1", "l1")
    assert_column_equality(df, "got_l2", "l2")


def test_pct_rounds_and_guards_zero(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, 3, 33.33), (2, 2, 100.0), (5, 0, None)],
                               "part long, whole long, want double")
    df = df.withColumn("got", pct(F.col("part"), F.col("whole")))
    assert_column_equality(df, "got", "want")
