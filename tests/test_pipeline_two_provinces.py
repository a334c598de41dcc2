"""The two-province case of tests/cases.py through every stage, checked against hand-computed tables."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import (
    DecimalType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from jobs import run_pipeline
from tests.cases import N1, N2, N3, N4, N5, N6, write_inputs


@pytest.fixture(scope="module")
def pipeline_output(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("two_provinces")
    assert run_pipeline.main([*write_inputs(root), "--set", "run_id=test-run"]) == 0
    return root / "out"


def _read(spark: SparkSession, out: Path, name: str) -> DataFrame:
    return spark.read.parquet(str(out / name))


def test_mapping_methods_follow_the_mapping_order(spark: SparkSession, pipeline_output: Path):
    got = _read(spark, pipeline_output, "catalog_mapping").select(
        "catalog_region", "local_code", "national_code", "method", "covered")
    expected = spark.createDataFrame([
        ("310000", "SH01", N1, "name_exact", True), ("310000", "SH02", N2, "name_exact", True),
        ("310000", "SH03", N3, "provided", True), ("310000", "240100001", N4, "code", True),
        ("310000", "SH05", N5, "name_exact", False), ("310000", "SH06", N6, "name_exact", True),
        ("330000", "ZJ01", N1, "name_exact", False), ("330000", "ZJ02", N2, "name_exact", True),
        ("330000", "ZJ04", N4, "name_exact", False), ("330000", "ZJ05", N5, "name_exact", True),
    ], "catalog_region string, local_code string, national_code string, method string, "
       "covered boolean")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_discrepant_items_by_hand(spark: SparkSession, pipeline_output: Path):
    got = _read(spark, pipeline_output, "discrepant_items")
    schema = StructType([
        StructField("insured_admdvs", StringType()), StructField("treatment_admdvs", StringType()),
        StructField("national_code", StringType()), StructField("national_name", StringType()),
        StructField("class_l1", StringType()), StructField("class_l2", StringType()),
        StructField("function", StringType()),
        StructField("visits_treatment", LongType()), StructField("fee_treatment", DecimalType(22, 2)),
        StructField("visits_home", LongType()), StructField("fee_home", DecimalType(22, 2)),
    ])
    d = Decimal
    expected = spark.createDataFrame([
        ("330000", "310000", N1, "心理咨询", "3", "31", "therapeutic", 3, d("350.00"), 2, d("160.00")),
        ("330000", "310000", N3, "颅内肿瘤切除术", "3", "33", "therapeutic", 1, d("20000.00"), 1,
         d("15000.00")),
        ("330000", "310000", N4, "立体定向放射治疗", "2", "24", "therapeutic", 2, d("10000.00"), 1,
         d("4000.00")),
        ("330000", "310000", N6, "普通门诊诊查费", "1", "11", "diagnostic", 2, d("20.00"), 0,
         d("0.00")),
        ("310000", "330000", N5, "普通针刺", "4", "43", "therapeutic", 1, d("30.00"), 1, d("25.00")),
    ], schema)
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_scheme_table_by_hand(spark: SparkSession, pipeline_output: Path):
    got = _read(spark, pipeline_output, "scenario_results")
    schema = StructType([
        StructField("insured_admdvs", StringType()), StructField("treatment_admdvs", StringType()),
        StructField("scheme", LongType()), StructField("threshold", LongType()),
        StructField("item_count", LongType()), StructField("visits", LongType()),
        StructField("visits_retention_pct", DoubleType()),
        StructField("added_spend", DecimalType(22, 2)), StructField("spend_decline_pct", DoubleType()),
    ])
    d = Decimal
    expected = spark.createDataFrame([
        # Scheme 1: N1 (3+2 visits, 350+160), N3 (1+1, 20000+15000), N4 (2+1, 10000+4000).
        ("330000", "310000", 1, 0, 3, 10, 100.0, d("49510.00"), 0.0),
        # visits_treatment >= 2 keeps N1 and N4 (N4 exactly at the threshold is included).
        ("330000", "310000", 2, 2, 2, 8, 80.0, d("14510.00"), 70.69),
        ("330000", "310000", 3, 3, 1, 5, 50.0, d("510.00"), 98.97),
        ("310000", "330000", 1, 0, 1, 2, 100.0, d("55.00"), 0.0),
        ("310000", "330000", 2, 2, 0, 0, 0.0, d("0.00"), 100.0),
        ("310000", "330000", 3, 3, 0, 0, 0.0, d("0.00"), 100.0),
    ], schema)
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_every_row_is_clean_or_quarantined_with_its_reason(spark: SparkSession,
                                                           pipeline_output: Path):
    quarantine = _read(spark, pipeline_output, "settlements_quarantine").select(
        "feedetl_sn", "reason")
    expected = spark.createDataFrame(
        [("17", "fee_not_positive"), ("18", "missing_item_code"), ("1", "duplicate_feedetl_sn"),
         ("19", "out_of_period"), ("20", "unknown_region")], "feedetl_sn string, reason string")
    assert_df_equality(quarantine, expected, ignore_row_order=True, ignore_nullable=True)
    assert _read(spark, pipeline_output, "settlements_clean").count() == 16


def test_exports_and_charts(pipeline_output: Path):
    exports = pipeline_output / "exports"
    header = (exports / "scenario_results.csv").read_bytes()[:3]
    assert header == b"\xef\xbb\xbf", "CSV exports start with a UTF-8 BOM for Excel"
    charts = sorted(p.name for p in (exports / "charts").glob("*.png"))
    assert charts == ["schemes_310000_330000.png", "schemes_330000_310000.png"]
    summary = json.loads((exports / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["totals"]["settlement_rows_clean"] == 16
    assert summary["totals"]["settlement_rows_quarantined"] == 5
    assert summary["totals"]["pairs"] == 2
