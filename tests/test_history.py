"""Delta history: every run's versions are recorded, and an earlier run's reports can be
rebuilt from its tables (`--as-of RUN_ID`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from catalogbridge.io import history
from catalogbridge.pipeline.cli import run_main
from jobs import item_stats, quality_report
from tests.conftest import Case, copy_case

READ_BY_REPORT = ("catalog_mapping", "discrepant_items", "review_queue", "published_scenario_results",
                  "settlement_rows")


def test_tables_are_delta_with_the_run_marked_and_history_kept(spark: SparkSession,
                                                               two_provinces: Case) -> None:
    path = str(two_provinces.out / "item_stats")
    assert (two_provinces.out / "item_stats" / "_delta_log").is_dir()
    assert history.run_versions(spark, path) == {"test-run": 0}
    properties = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").first()["properties"]
    assert properties["delta.logRetentionDuration"] == "interval 400 days"
    assert properties["delta.deletedFileRetentionDuration"] == "interval 400 days"
    summary = json.loads((two_provinces.out / "exports" / "run_summary.json").read_text("utf-8"))
    assert all(summary["table_versions"][t] == 0 for t in READ_BY_REPORT), summary["table_versions"]
    assert summary["as_of"] is None


def test_reports_of_an_earlier_run_rebuilt_from_its_versions(
        two_provinces: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = copy_case(two_provinces, tmp_path)
    exports = case.out / "exports"
    first = json.loads((exports / "quality_report.json").read_text(encoding="utf-8"))
    lines = (tmp_path / "settlements.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "settlements.csv").write_text("\n".join(lines[:7]) + "\n", encoding="utf-8")
    assert run_main([*case.args, "--set", "run_id=run2"], "",
                    ["clean_settlements", "reconcile", "quality_report"]) == 0
    second = json.loads((exports / "quality_report.json").read_text(encoding="utf-8"))
    assert second["totals"]["input_rows"] == 6
    assert second["table_versions"]["settlement_rows"] == 1

    assert quality_report.main([*case.args, "--as-of", "test-run", "--set", "run_id=again"]) == 0
    rebuilt = json.loads((exports / "as_of_test-run" / "quality_report.json").read_text("utf-8"))
    assert rebuilt["totals"] == first["totals"]
    assert rebuilt["as_of"] == "test-run"
    assert rebuilt["table_versions"] == {"flow_quality": 0, "reconciliation": 0,
                                         "settlement_deliveries": 0, "settlement_rows": 0}

    assert quality_report.main([*case.args, "--as-of", "nosuchrun"]) == 2
    assert "has no version written by that run; runs it has (latest 10): test-run, run2" \
        in capsys.readouterr().err
    assert item_stats.main([*case.args, "--as-of", "test-run"]) == 2
    assert "writes none; run the stage that writes 'item_stats' without --as-of" \
        in capsys.readouterr().err


def test_a_table_written_by_another_tool_is_not_replaced(
        spark: SparkSession, two_provinces: Case, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    case = copy_case(two_provinces, tmp_path)
    foreign = str(case.out / "item_stats")
    shutil.rmtree(foreign)
    spark.createDataFrame([("A", 1.5)], "code string, visits double").write.format(
        "delta").save(foreign)
    assert item_stats.main(case.args) == 2
    err = capsys.readouterr().err
    assert "table 'item_stats'" in err and "written by another tool" in err
    assert "columns only in the table: code" in err
    assert "different types: visits (double -> bigint)" in err
    assert "nothing was committed" in err
    assert [tuple(r) for r in spark.read.format("delta").load(foreign).collect()] == [("A", 1.5)]
    assert not (case.out / "_staging").exists()
