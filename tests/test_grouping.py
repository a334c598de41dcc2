"""Grouped pandas work spread over the cores: each group in a task of its own, largest first."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import LongType, StringType, StructField, StructType

from catalogbridge.io.grouping import apply_in_pandas_largest_first

ROWS = StructType([StructField("region", StringType()), StructField("visits", LongType())])
SUMMED = StructType([StructField("region", StringType()), StructField("rows", LongType()),
                     StructField("visits", LongType()), StructField("partition", LongType())])


def summed(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per group, with the partition (task) that solved it."""
    from pyspark import TaskContext

    context = TaskContext.get()
    assert context is not None
    return pd.DataFrame({"region": [frame["region"].iloc[0]], "rows": [len(frame)],
                         "visits": [int(frame["visits"].sum())],
                         "partition": [context.partitionId()]})


@pytest.fixture
def eight_partitions(spark: SparkSession) -> Iterator[None]:
    """Shuffles of up to eight partitions, which adaptive execution would merge into one."""
    before = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "8")
    yield
    spark.conf.set("spark.sql.shuffle.partitions", before or "2")


def _rows(spark: SparkSession) -> DataFrame:
    data = ([("330000", 1)] * 4 + [("310000", 10)] * 3 + [("110000", 100)] * 2
            + [(None, 1000)])
    return spark.createDataFrame(data, ROWS)


def test_each_group_in_its_own_task_largest_first(spark: SparkSession,
                                                  eight_partitions: None) -> None:
    result = apply_in_pandas_largest_first(_rows(spark), ["region"], summed, SUMMED)
    expected = spark.createDataFrame(
        [("330000", 4, 4), ("310000", 3, 30), ("110000", 2, 200), (None, 1, 1000)],
        "region string, rows long, visits long")
    assert_df_equality(result.drop("partition"), expected, ignore_row_order=True)
    by_size = [row["partition"] for row in result.orderBy("rows", ascending=False).collect()]
    assert len(set(by_size)) == 4, "every group has a task of its own"
    assert by_size == sorted(by_size), "the largest groups come first"
    # Without the spread, adaptive execution merges the tiny shuffle into one task.
    plain = _rows(spark).groupBy("region").applyInPandas(summed, SUMMED)
    assert len({row["partition"] for row in plain.collect()}) == 1


def test_one_shuffle_only(spark: SparkSession, eight_partitions: None) -> None:
    """The grouping reuses the range partitioning: no hash shuffle by the keys after it."""
    result = apply_in_pandas_largest_first(_rows(spark), ["region"], summed, SUMMED)
    plan = result._jdf.queryExecution().executedPlan().toString().splitlines()
    grouped = next(i for i, line in enumerate(plan) if "FlatMapGroupsInPandas" in line)
    below = next(line for line in plan[grouped:] if "Exchange " in line)
    assert "rangepartitioning(_group_rank" in below
