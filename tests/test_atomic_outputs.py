"""A run that fails half-way leaves the previous run's tables as they were; re-runs agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from jobs import discrepancy, run_pipeline
from jobs.stage import StageContext
from tests.cases import write_inputs

TABLES = ("national_items", "catalog_mapping", "settlements_clean", "settlements_quarantine",
          "item_stats", "discrepant_items", "scenario_results", "class_summary")


def _snapshot(spark: SparkSession, out: Path) -> dict[str, DataFrame]:
    """The tables' current contents as in-memory frames (not cached plans over the files)."""
    tables = {name: spark.read.parquet(str(out / name)).drop("run_id") for name in TABLES}
    return {name: spark.createDataFrame(df.collect(), df.schema) for name, df in tables.items()}


def test_failure_midway_keeps_previous_tables_and_reruns_agree(
        spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = write_inputs(tmp_path)
    out = tmp_path / "out"
    assert run_pipeline.main([*args, "--set", "run_id=first"]) == 0
    before = _snapshot(spark, out)

    # A second run on fewer settlement rows fails after four stages have written tables.
    fewer = tmp_path / "fewer.csv"
    lines = (tmp_path / "settlements.csv").read_text(encoding="utf-8").splitlines()
    fewer.write_text("\n".join(lines[:8]) + "\n", encoding="utf-8")

    def fail(ctx: StageContext) -> None:
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(discrepancy, "run", fail)
    with pytest.raises(RuntimeError, match="simulated"):
        run_pipeline.main([*args, "--set", "run_id=second",
                           "--set", f"inputs.settlements.path={fewer}"])
    assert not (out / "_staging").exists(), "the failed run's staged tables are dropped"
    after = _snapshot(spark, out)
    for name in TABLES:
        assert_df_equality(after[name], before[name], ignore_row_order=True)

    # Re-running the same inputs gives the same tables.
    monkeypatch.undo()
    assert run_pipeline.main([*args, "--set", "run_id=third"]) == 0
    again = _snapshot(spark, out)
    for name in TABLES:
        assert_df_equality(again[name], before[name], ignore_row_order=True)
