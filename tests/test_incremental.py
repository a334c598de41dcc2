"""Monthly incremental runs equal a full recompute over the same files.

The generated national case is split into monthly deliveries by each line's fee month, so
visits whose lines fall in two months span two files; a serial number of January is
delivered again in March (a duplicate across months). Eleven months are run, then the
twelfth is added; then May is re-delivered with different content; then nothing changes.
After each step every table equals a fresh full run over the same files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from catalogbridge.io import history
from catalogbridge.pipeline.runner import read_table
from jobs import run_pipeline
from tests.conftest import Case

pytestmark = pytest.mark.slow

TABLES = ("national_items", "catalog_mapping", "settlement_rows", "settlement_deliveries",
          "reconciliation", "review_queue", "item_stats", "discrepant_items",
          "scenario_results", "class_summary", "settlements_clean", "settlements_quarantine")
# Columns that name the run or the path of the case, not data.
RUN_COLUMNS = ("run_id", "tagged_run", "change")


def split_by_month(settlements: Path, target: Path) -> pd.DataFrame:
    """The case's rows as monthly files `target/2023-MM/part-0.parquet` (undated: no time)."""
    rows = pd.concat(pd.read_parquet(p) for p in sorted(settlements.glob("*.parquet")))
    month = rows["fee_ocur_time"].dt.strftime("%Y-%m").where(rows["fee_ocur_time"].dt.year > 2000)
    for value, part in rows.groupby(month.fillna("undated"), sort=True):
        folder = target / str(value)
        folder.mkdir(parents=True)
        write(part, folder / "part-0.parquet")
    return rows.assign(month=month)


def write(rows: pd.DataFrame, path: Path) -> None:
    """With the generator's schema: a column that happens to be all null stays text."""
    text = {c: "string" for c in rows.columns if rows[c].dtype == object}
    rows.astype(text).to_parquet(path, index=False)


def run(case: Case, settlements: Path, out: Path, run_id: str) -> None:
    args = [a if not a.startswith("inputs.settlements.path=") else
            f"inputs.settlements.path={settlements}" for a in case.args]
    args = [a if not a.startswith("output.path=") else f"output.path={out}" for a in args]
    assert run_pipeline.main([*args, "--set", f"run_id={run_id}"]) == 0


def table(spark: SparkSession, out: Path, name: str) -> DataFrame:
    df = read_table(spark, out, name)
    return df.drop(*RUN_COLUMNS)


def assert_same_tables(spark: SparkSession, got: Path, want: Path) -> None:
    for name in TABLES:
        left, right = table(spark, got, name), table(spark, want, name)
        assert left.count() == right.count(), name
        assert_df_equality(left, right.select(*left.columns), ignore_row_order=True,
                           ignore_nullable=True, underline_cells=True)


def full_run(case: Case, deliveries: Path, root: Path, run_id: str) -> Path:
    out = root / f"full_{run_id}"
    run(case, deliveries, out, run_id)
    return out


def test_month_by_month_equals_a_full_recompute(spark: SparkSession, national_case: Case,
                                                tmp_path: Path) -> None:
    source = Path(next(a for a in national_case.args if a.startswith("inputs.settlements.path="))
                  .split("=", 1)[1])
    all_months = tmp_path / "all_months"
    rows = split_by_month(source, all_months)
    spanning = rows.dropna(subset=["month"]).groupby("mdtrt_id")["month"].nunique()
    assert (spanning > 1).sum() > 0, "some visits have lines in two months"
    january = pd.read_parquet(all_months / "2023-01" / "part-0.parquet")
    march = pd.read_parquet(all_months / "2023-03" / "part-0.parquet")
    write(pd.concat([march, january.head(1)]), all_months / "2023-03" / "part-0.parquet")

    deliveries, out = tmp_path / "deliveries", tmp_path / "incremental"
    shutil.copytree(all_months, deliveries, ignore=shutil.ignore_patterns("2023-12"))
    run(national_case, deliveries, out, "r1")
    # One delivery adds December and re-delivers May with half its rows.
    shutil.copytree(all_months / "2023-12", deliveries / "2023-12")
    may = deliveries / "2023-05" / "part-0.parquet"
    before = len(pd.read_parquet(may))
    write(pd.read_parquet(may).iloc[::2], may)
    run(national_case, deliveries, out, "r2")
    full = full_run(national_case, deliveries, tmp_path, "full")
    assert_same_tables(spark, out, full)
    kept = read_table(spark, out, "settlement_deliveries").where("tagged_run = 'r1'").count()
    assert kept > 0, "months that did not change keep the run that tagged them"
    report = json.loads((out / "exports" / "quality_report.json").read_text(encoding="utf-8"))
    changed = {d["month"]: d for d in report["deliveries"] if d["change"] != "unchanged"}
    assert sorted(changed) == ["2023-05", "2023-12"], report["deliveries"]
    assert changed["2023-05"] == {"month": "2023-05", "change": "redelivered", "files": 1,
                                  "rows": (before + 1) // 2, "previous_rows": before,
                                  "clean_rows": changed["2023-05"]["clean_rows"],
                                  "outside_period": False}

    rows_table = str(out / "settlement_rows")
    version = history.latest_version(spark, rows_table)
    run(national_case, deliveries, out, "r3")
    assert history.latest_version(spark, rows_table) == version, "an unchanged month is not rewritten"
    assert_same_tables(spark, out, full)
