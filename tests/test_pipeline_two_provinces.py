"""A two-province case small enough to compute by hand, run through every stage.

Zhejiang (330000) insured, Shanghai (310000) treatment, plus the reverse pair. National items:
  N1 心理咨询 (31, therapeutic)   N2 血常规检测 (25, diagnostic)   N3 颅内肿瘤切除术 (33)
  N4 立体定向放射治疗 (24: radiotherapy counts as therapeutic)   N5 普通针刺 (43)
  N6 普通门诊诊查 (11, diagnostic)
Shanghai covers N1 N2 N3 N4 N6 (N5 at level 03); Zhejiang covers N2 N5, lists N1 and N4 at
level 03 and lacks N3 and N6. So the pair (330000, 310000) has discrepant N1 N3 N4 N6 and the
pair (310000, 330000) has N5.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql.types import (
    DecimalType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from jobs import run_pipeline

N1, N2, N3 = "003101000010000", "002501000010000", "003302000010000"
N4, N5, N6 = "002401000010000", "004301000010000", "001101000010000"

NATIONAL = [
    (N1, "心理咨询"), (N2, "血常规检测"), (N3, "颅内肿瘤切除术"),
    (N4, "立体定向放射治疗"), (N5, "普通针刺"), (N6, "普通门诊诊查费"),
]
CATALOG = [  # admdvs, item_code, item_name, chrgitm_lv, national_code
    ("310000", "SH01", "心理咨询", "乙类", ""),          # name_exact -> N1
    ("310000", "SH02", "血常规检测", "01", ""),          # name_exact -> N2
    ("310000", "SH03", "颅内肿瘤切除", "甲", N3),         # provided -> N3
    ("310000", "240100001", "立体定向放射治疗", "02", ""),  # 9-digit base code, names agree -> N4
    ("310000", "SH05", "普通针刺", "丙类", ""),           # level 03: not covered in Shanghai
    ("310000", "SH06", "普通门诊诊查费", "01", ""),        # -> N6
    ("330000", "ZJ01", "心理咨询", "03", ""),             # level 03 in Zhejiang
    ("330000", "ZJ02", "血常规检测", "01", ""),
    ("330000", "ZJ04", "立体定向放射治疗", "自费", ""),
    ("330000", "ZJ05", "普通针刺", "01", ""),
]
HEADER = ("feedetl_sn,setl_id,mdtrt_id,psn_no,insuplc_admdvs,mdtrtarea_admvs,med_type,"
          "medins_list_codg,medins_list_name,det_item_fee_sumamt,fee_ocur_time,med_list_codg")
ZJ_IN_SH = [  # sn, visit, code, name, fee
    ("1", "V1", "SH01", "心理咨询", "100"), ("2", "V1", "SH01", "心理咨询", "50"),
    ("3", "V2", "SH01", "心理咨询", "100"), ("4", "V3", "SH01", "心理咨询", "100"),
    ("5", "V4", "SH03", "颅内肿瘤切除", "20000"),
    ("6", "V5", "240100001", "立体定向放射治疗", "5000"),
    ("7", "V6", "240100001", "立体定向放射治疗", "5000"),
    ("8", "V5", "SH06", "普通门诊诊查费", "10"), ("9", "V7", "SH06", "普通门诊诊查费", "10"),
    ("10", "V1", "SH02", "血常规检测", "30"),
]


def _settlement_lines() -> list[str]:
    def line(sn: str, visit: str, ins: str, treat: str, code: str, name: str, fee: str,
             when: str = "2023-05-01 10:00:00", row_code: str = "") -> str:
        return f"{sn},S{visit},{visit},P{visit},{ins},{treat},21,{code},{name},{fee},{when},{row_code}"

    rows = [line(sn, v, "330100", "310100", c, n, f) for sn, v, c, n, f in ZJ_IN_SH]
    rows += [
        line("11", "H1", "330100", "330200", "ZJ01", "心理咨询", "80"),
        line("12", "H2", "330100", "330200", "ZJ01", "心理咨询", "80"),
        line("13", "H3", "330100", "330200", "ZJ04", "立体定向放射治疗", "4000"),
        # Not in Zhejiang's catalog, but the row carries its national code.
        line("14", "H4", "330100", "330200", "ZJX9", "颅内肿瘤切除术", "15000", row_code=N3),
        line("15", "S1", "310100", "330100", "ZJ05", "普通针刺", "30"),
        line("16", "S2", "310100", "310100", "SH05", "普通针刺", "25"),
        # Dirty rows: fee 0, no code, a re-sent copy of line 1, out of period, unknown region.
        line("17", "V8", "330100", "310100", "SH01", "心理咨询", "0"),
        line("18", "V8", "330100", "310100", "", "心理咨询", "100"),
        line("1", "V1", "330100", "310100", "SH01", "心理咨询", "100"),
        line("19", "V9", "330100", "310100", "SH01", "心理咨询", "100", when="2022-12-31 23:59:59"),
        line("20", "V9", "990100", "310100", "SH01", "心理咨询", "100"),
    ]
    return [HEADER, *rows]


@pytest.fixture(scope="module")
def pipeline_output(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("two_provinces")
    (root / "national.csv").write_text(
        "item_code,item_name\n" + "".join(f"{c},{n}\n" for c, n in NATIONAL), encoding="utf-8")
    (root / "catalogs").mkdir()
    (root / "catalogs" / "all.csv").write_text(
        "admdvs,item_code,item_name,chrgitm_lv,national_code\n"
        + "".join(",".join(r) + "\n" for r in CATALOG), encoding="utf-8")
    (root / "settlements.csv").write_text("\n".join(_settlement_lines()) + "\n", encoding="utf-8")
    out = root / "out"
    code = run_pipeline.main([
        "--conf", "conf/local.yaml",
        "--set", f"inputs.national_items.path={root / 'national.csv'}",
        "--set", f"inputs.catalogs.path={root / 'catalogs'}",
        "--set", f"inputs.settlements.path={root / 'settlements.csv'}",
        "--set", "inputs.settlements.format=csv",
        "--set", f"output.path={out}",
        "--set", "scenario.thresholds=[0, 2, 3]",
        "--set", "run_id=test-run",
    ])
    assert code == 0
    return out


def _read(spark: SparkSession, out: Path, name: str):  # type: ignore[no-untyped-def]
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
