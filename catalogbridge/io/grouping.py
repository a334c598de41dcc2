"""Grouped Python work spread over the executors' cores, the largest groups first.

`groupBy(...).applyInPandas` shuffles by the group keys, and adaptive execution then merges
small shuffle partitions up to its advisory size: a table of a few MB, such as one row per
discrepant item, becomes one partition, so every group is solved in one task on one core
however many cores there are. Where each group is minutes of solver time (small-cell
suppression of an insured region), that is the whole stage on one core.

Here each group gets its own partition by a range shuffle with an explicit partition count
(adaptive execution does not merge those), on the group's rank by size; tasks run in
partition order, so the cores take the largest groups first and the small ones fill in
(longest-processing-time-first scheduling). Nothing is collected: the sizes are ranked in a
window over one row per group and joined back as a broadcast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

_RANK = "_group_rank"  # 1 = the group with the most rows
_ROWS = "_group_rows"


def apply_in_pandas_largest_first(df: DataFrame, keys: Sequence[str],
                                  func: Callable[[pd.DataFrame], pd.DataFrame],
                                  schema: StructType) -> DataFrame:
    """`df.groupBy(*keys).applyInPandas(func, schema)`, each group in a task of its own
    (up to `spark.sql.shuffle.partitions` tasks; more groups share them), largest first."""
    sizes = df.groupBy(*keys).agg(F.count(F.lit(1)).alias(_ROWS))
    by_size = Window.orderBy(F.desc(_ROWS), *keys)  # one row per group: bounded
    ranks = sizes.select(*[F.col(k).alias(f"_rank_{k}") for k in keys],
                         F.row_number().over(by_size).alias(_RANK))
    same_group = [df[k].eqNullSafe(ranks[f"_rank_{k}"]) for k in keys]  # a null key is a group
    partitions = int(df.sparkSession.conf.get("spark.sql.shuffle.partitions") or "200")
    ranked = (df.join(F.broadcast(ranks), same_group)
              .drop(*[f"_rank_{k}" for k in keys])
              .repartitionByRange(partitions, _RANK))

    def without_rank(frame: pd.DataFrame) -> pd.DataFrame:
        return func(frame.drop(columns=_RANK))

    # Grouping by the rank as well keeps the range partitioning: no second shuffle.
    return ranked.groupBy(_RANK, *keys).applyInPandas(without_rank, schema)
