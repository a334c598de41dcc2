"""Reconciliation per file and region, and the quality report against the previous run."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from catalogbridge.pipeline.cli import run_main
from catalogbridge.quality.reconciliation import (
    ReconciliationError,
    check_reconciliation,
    reconciliation,
)
from catalogbridge.quality.report import share_changes
from tests.conftest import Case, copy_case

SCHEMA = "_source_file string, mdtrtarea_admvs string, det_item_fee_sumamt decimal(18,2)"
D = Decimal


def _rows(spark: SparkSession, rows: list[tuple[str, str | None, str | None]]) -> DataFrame:
    return spark.createDataFrame([(f, r, None if x is None else D(x)) for f, r, x in rows], SCHEMA)


INPUT = [("a.csv", "310100", "10.00"), ("a.csv", "310100", "-5.00"), ("a.csv", "33A100", "1.00"),
         ("b.csv", "330200", "7.50"), ("b.csv", "330200", None)]


def test_reconciliation_balances_per_file_and_region(spark: SparkSession) -> None:
    clean = _rows(spark, [INPUT[0], INPUT[3]])
    quarantine = _rows(spark, [INPUT[1], INPUT[2], INPUT[4]])
    got = reconciliation(_rows(spark, INPUT), clean=clean, quarantine=quarantine,
                         region_level="province")
    expected = spark.createDataFrame([
        ("a.csv", "310000", 2, D("5.00"), 1, D("10.00"), 1, D("-5.00"), True),
        ("a.csv", "invalid", 1, D("1.00"), 0, D("0.00"), 1, D("1.00"), True),
        ("b.csv", "330000", 2, D("7.50"), 1, D("7.50"), 1, D("0.00"), True),
    ], "_source_file string, region string, input_rows long, input_fee decimal(22,2), "
       "clean_rows long, clean_fee decimal(22,2), quarantined_rows long, "
       "quarantined_fee decimal(22,2), balanced boolean")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True,
                       ignore_column_order=True)
    check_reconciliation(got)


def test_doctored_outputs_fail_loudly(spark: SparkSession) -> None:
    # A row lost from the clean table, and a quarantined row duplicated by a bad join.
    clean = _rows(spark, [INPUT[0]])
    quarantine = _rows(spark, [INPUT[1], INPUT[2], INPUT[2], INPUT[4]])
    table = reconciliation(_rows(spark, INPUT), clean=clean, quarantine=quarantine,
                           region_level="province")
    with pytest.raises(ReconciliationError) as err:
        check_reconciliation(table)
    message = str(err.value)
    assert "a.csv region invalid: read 1 rows / 1.00 yuan" in message
    assert "quarantined 2 / 2.00" in message
    assert "b.csv region 330000: read 2 rows / 7.50 yuan, clean 0 / 0.00" in message


def _report(shares: dict[tuple[str, str], int], inputs: dict[str, int]) -> dict[str, object]:
    return {"regions": [{"region": r, "input_rows": n} for r, n in inputs.items()],
            "quarantine_by_reason_region": [{"region": r, "reason": k, "rows": n}
                                            for (r, k), n in shares.items()]}


def test_share_changes_alert_above_the_threshold() -> None:
    now = _report({("310000", "fee_not_positive"): 30, ("330000", "fee_not_positive"): 5},
                  {"310000": 100, "330000": 100})
    before = _report({("310000", "fee_not_positive"): 20, ("330000", "fee_not_positive"): 1},
                     {"310000": 100, "330000": 100})
    changes = share_changes(now, before, alert_pct=5.0)
    assert [(c["region"], c["change_pct_points"], c["alert"]) for c in changes] == [
        ("310000", 10.0, True), ("330000", 4.0, False)]
    first_run = share_changes(now, None, alert_pct=5.0)
    assert all(c["previous_share_pct"] is None and not c["alert"] for c in first_run)


def test_quality_report_of_two_runs(two_provinces: Case, tmp_path: Path) -> None:
    case = copy_case(two_provinces, tmp_path)
    exports = case.out / "exports"
    first = json.loads((exports / "quality_report.json").read_text(encoding="utf-8"))
    # 16 of 17 clean rows have a code; SH07's 60 yuan await review: 49,615 of 49,675 yuan.
    assert first["totals"] == {"input_rows": 22, "clean_rows": 17, "quarantined_rows": 5,
                               "balanced": True, "mapped_rows_pct": 94.12,
                               "mapped_fee_pct": 99.88}
    assert first["previous_run_id"] is None
    reasons = {r["reason"]: r["rows"] for r in first["quarantine_by_reason"]}
    assert reasons == {"duplicate_feedetl_sn": 1, "fee_not_positive": 1, "missing_item_code": 1,
                       "out_of_period": 1, "unknown_region": 1}
    # A second run on only the first six rows: Shanghai's share of every reason drops to 0.
    # Only the stages the report reads are run again.
    lines = (tmp_path / "settlements.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "settlements.csv").write_text("\n".join(lines[:7]) + "\n", encoding="utf-8")
    assert run_main([*case.args, "--set", "run_id=run2"], "",
                    ["clean_settlements", "reconcile", "quality_report"]) == 0
    second = json.loads((exports / "quality_report.json").read_text(encoding="utf-8"))
    assert second["previous_run_id"] == "test-run"
    alerts = {(c["region"], c["reason"]) for c in second["share_changes"] if c["alert"]}
    assert ("310000", "fee_not_positive") in alerts
    assert second["previous_totals"] == first["totals"]
    markdown = (exports / "quality_report.md").read_text(encoding="utf-8")
    assert "| 310000 | fee_not_positive |" in markdown
    assert "| input rows | 6 | 22 |" in markdown
    assert sorted(p.name for p in (exports / "quality_history").iterdir()) == [
        "run2.json", "test-run.json"]


def _totals_by_tagging_run(case: Case, spark: SparkSession) -> list[tuple[str, int, int, int, bool]]:
    recon = case.table(spark, "reconciliation").groupBy("tagged_run").agg(
        F.sum("input_rows"), F.sum("clean_rows"), F.sum("quarantined_rows"), F.min("balanced"))
    return sorted(tuple(r) for r in recon.collect())


def test_stage_runs_of_their_own_reconcile_the_rows_they_tagged(
        spark: SparkSession, two_provinces: Case, tmp_path: Path) -> None:
    """`clean_settlements` run on its own counts nothing: the next `reconcile` counts the files
    it tagged instead of keeping counts of other rows (or having none to keep)."""
    case = copy_case(two_provinces, tmp_path)
    lines = (tmp_path / "settlements.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "settlements.csv").write_text("\n".join(lines[:7]) + "\n", encoding="utf-8")
    for stage, run_id in (("clean_settlements", "tagged"), ("reconcile", "counted")):
        assert run_main([*case.args, "--set", f"run_id={run_id}"], "", [stage]) == 0
    # The six clean rows of the re-delivered file (its first six), not the 22 the full run
    # counted.
    assert _totals_by_tagging_run(case, spark) == [("tagged", 6, 6, 0, True)]
    # A first run made of stage runs: no reconciliation yet to keep counts from.
    (tmp_path / "settlements.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    fresh = Case(tmp_path / "fresh", [a.replace(str(case.out), str(tmp_path / "fresh" / "out"))
                                      for a in case.args])
    for stage in ("ingest_national", "map_catalogs", "clean_settlements", "reconcile"):
        assert run_main([*fresh.args, "--set", f"run_id={stage}"], "", [stage]) == 0
    assert _totals_by_tagging_run(fresh, spark) == [("clean_settlements", 22, 17, 5, True)]
