"""A run that fails half-way leaves the previous run's tables as they were; tables do not
depend on the order rows and files are read in."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from catalogbridge.names import DISCREPANT_ITEMS
from catalogbridge.pipeline import stages
from jobs import run_pipeline
from tests.cases import write_inputs
from tests.conftest import Case, copy_case

TABLES = ("national_items", "catalog_mapping", "settlement_rows", "settlement_deliveries",
          "settlements_clean", "settlements_quarantine", "reconciliation", "review_queue",
          "item_stats", "discrepant_items", "scenario_results", "class_summary")
# Where a row sits in its file: changes when the rows are read in another order.
POSITION = ("_source_split", "_split_record", "source_row")


def _snapshot(spark: SparkSession, case: Case, drop: tuple[str, ...] = ()) -> dict[str, DataFrame]:
    """The tables' current contents as in-memory frames (not cached plans over the files)."""
    tables = {name: case.table(spark, name).drop("run_id", "tagged_run", "_source_file", *drop)
              for name in TABLES}
    return {name: spark.createDataFrame(df.collect(), df.schema) for name, df in tables.items()}


def test_failure_midway_keeps_previous_tables(
        spark: SparkSession, two_provinces: Case, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    case = copy_case(two_provinces, tmp_path)
    before = _snapshot(spark, case)
    # A second run on fewer settlement rows fails after six stages have written tables.
    fewer = tmp_path / "fewer.csv"
    lines = (tmp_path / "settlements.csv").read_text(encoding="utf-8").splitlines()
    fewer.write_text("\n".join(lines[:8]) + "\n", encoding="utf-8")

    def fail(**_: object) -> dict[str, object]:
        raise RuntimeError("disk full (simulated)")

    failing = tuple(dataclasses.replace(s, node=fail) if DISCREPANT_ITEMS in s.outputs else s
                    for s in stages.STAGES)
    monkeypatch.setattr(stages, "STAGES", failing)
    with pytest.raises(RuntimeError, match="simulated"):
        run_pipeline.main([*case.args, "--set", "run_id=second",
                           "--set", f"inputs.settlements.path={fewer}"])
    assert not (case.out / "_staging").exists(), "the failed run's staged tables are dropped"
    after = _snapshot(spark, case)
    for name in TABLES:
        assert_df_equality(after[name], before[name], ignore_row_order=True)


@pytest.mark.slow  # a second whole run of the pipeline
def test_tables_do_not_depend_on_read_order(spark: SparkSession, two_provinces: Case,
                                            tmp_path: Path) -> None:
    """The same rows in reversed order, catalog files named to sort the other way round:
    repeated catalog and library rows resolve the same way, every table is the same."""
    case = Case(tmp_path, write_inputs(tmp_path, shuffled=True))
    assert run_pipeline.main([*case.args, "--set", "run_id=shuffled"]) == 0
    first, again = _snapshot(spark, two_provinces, POSITION), _snapshot(spark, case, POSITION)
    for name in TABLES[:3] + TABLES[4:]:  # deliveries: the files' sizes and times differ
        assert_df_equality(again[name], first[name], ignore_row_order=True)
