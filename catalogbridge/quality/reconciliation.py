"""Reconciliation: per input file and region, input rows and fees equal clean plus quarantined.

Checked on every run; a join that duplicated or lost rows fails the run, naming the file.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from catalogbridge.columns import AMOUNT_TYPE, region_of
from catalogbridge.names import FEE, SOURCE_FILE

INVALID = "invalid"
RECONCILE_KEY = (SOURCE_FILE, "region")


class ReconciliationError(RuntimeError):
    """Input rows or fees != clean + quarantined: a join duplicated or lost rows."""


def region_column(level: str) -> Column:
    return F.coalesce(region_of(F.col("mdtrtarea_admvs"), level), F.lit(INVALID)).alias("region")


def _totals(rows: DataFrame, level: str, prefix: str) -> DataFrame:
    return rows.groupBy(F.col(SOURCE_FILE), region_column(level)).agg(
        F.count(F.lit(1)).alias(f"{prefix}_rows"),
        F.coalesce(F.sum(FEE), F.lit(0)).cast(AMOUNT_TYPE).alias(f"{prefix}_fee"))


def reconciliation(settlements: DataFrame, *, clean: DataFrame, quarantine: DataFrame,
                   region_level: str) -> DataFrame:
    """Per input file and treatment region: rows and fees read, clean and quarantined."""
    columns = [SOURCE_FILE, "mdtrtarea_admvs", FEE]
    outputs = (_totals(clean.select(*columns), region_level, "clean")
               .join(_totals(quarantine.select(*columns), region_level, "quarantined"),
                     list(RECONCILE_KEY), "full"))
    zero = {"clean_rows": 0, "clean_fee": 0, "quarantined_rows": 0, "quarantined_fee": 0}
    return (_totals(settlements, region_level, "input").join(outputs, list(RECONCILE_KEY), "full")
            .fillna({"input_rows": 0, "input_fee": 0, **zero})
            .withColumn("balanced", (F.col("input_rows") == F.col("clean_rows")
                                     + F.col("quarantined_rows"))
                        & (F.col("input_fee") == F.col("clean_fee") + F.col("quarantined_fee"))))


def check_reconciliation(table: DataFrame) -> None:
    """Fail loudly, naming the file and region, when any row of the reconciliation is off."""
    off = table.where(~F.col("balanced")).limit(5).collect()
    if off:
        details = "; ".join(
            f"{r[SOURCE_FILE]} region {r['region']}: read {r['input_rows']} rows / "
            f"{r['input_fee']} yuan, clean {r['clean_rows']} / {r['clean_fee']}, quarantined "
            f"{r['quarantined_rows']} / {r['quarantined_fee']}" for r in off)
        raise ReconciliationError(f"settlement rows do not reconcile: {details}")
