"""The two-province case of tests/cases.py through every stage, checked against hand-computed tables.

The pipeline runs once per test session (the `two_provinces` fixture); every test here reads
its tables and exports.
"""

from __future__ import annotations

import json
from decimal import Decimal

from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DecimalType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from tests.cases import N1, N2, N3, N4, N5, N6, settlement_lines
from tests.conftest import Case, pseudonym_of

d = Decimal


def test_mapping_methods_follow_the_mapping_order(spark: SparkSession, two_provinces: Case):
    got = two_provinces.table(spark, "catalog_mapping").select(
        "catalog_region", "catalog_admdvs", "local_code", "local_name", "national_code", "method",
        "covered", "review_status")
    expected = spark.createDataFrame([
        ("310000", "310000", "SH01", "心理咨询", N1, "name_exact", True, "auto"),
        ("310000", "310000", "SH02", "血常规检测", N2, "name_exact", True, "auto"),
        ("310000", "310000", "SH03", "颅内肿瘤切除", N3, "provided", True, "auto"),
        ("310000", "310000", "240100001", "立体定向放射治疗", N4, "code", True, "auto"),
        ("310000", "310000", "SH05", "普通针刺", N5, "name_exact", False, "auto"),
        ("310000", "310000", "SH06", "普通门诊诊查费", N6, "name_exact", True, "auto"),
        ("310000", "310000", "SH07", "高压氧舱", None, "unmatched", True, "no_candidate"),
        ("330000", "330000", "ZJ01", "心理咨询", N1, "name_exact", False, "auto"),
        # Repeated in Hangzhou's city catalog (330100): Zhejiang's own row is the one kept.
        ("330000", "330000", "ZJ02", "血常规检测", N2, "name_exact", True, "auto"),
        ("330000", "330000", "ZJ04", "立体定向放射治疗", N4, "name_exact", False, "auto"),
        ("330000", "330000", "ZJ05", "普通针刺", N5, "name_exact", True, "auto"),
    ], "catalog_region string, catalog_admdvs string, local_code string, local_name string, "
       "national_code string, method string, covered boolean, review_status string")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_national_library_keeps_one_row_per_code(spark: SparkSession, two_provinces: Case):
    got = two_provinces.table(spark, "national_items").where(F.col("national_code") == N2)
    assert [(r["national_name"], r["item_desc"]) for r in got.collect()] == [("血常规检测", "含五分类")]


# (serial, insured, treatment, billing catalog, national code, mapping source) of every clean row.
CLEAN = [
    *[(sn, "330000", "310000", "310000", N1, "catalog") for sn in ("1", "2", "3", "4")],
    ("5", "330000", "310000", "310000", N3, "catalog"),
    ("6", "330000", "310000", "310000", N4, "catalog"),
    ("7", "330000", "310000", "310000", N4, "catalog"),
    ("8", "330000", "310000", "310000", N6, "catalog"),
    ("9", "330000", "310000", "310000", N6, "catalog"),
    ("10", "330000", "310000", "310000", N2, "catalog"),
    ("11", "330000", "330000", "330000", N1, "catalog"),
    ("12", "330000", "330000", "330000", N1, "catalog"),
    ("13", "330000", "330000", "330000", N4, "catalog"),
    ("14", "330000", "330000", "330000", N3, "row_national_code"),
    ("15", "310000", "330000", "330000", N5, "catalog"),
    ("16", "310000", "310000", "310000", N5, "catalog"),
    ("21", "330000", "310000", "310000", None, "unmapped"),
]


def test_clean_rows_whole_table(spark: SparkSession, two_provinces: Case):
    header, *lines = settlement_lines()
    fields = header.split(",")
    raw = {}
    for line in lines:
        row = dict(zip(fields, line.split(","), strict=True))
        raw.setdefault(row["feedetl_sn"], row)  # the re-sent copy of line 1 is identical
    expected_rows = [
        (*(pseudonym_of(raw[sn][c]) for c in ("feedetl_sn", "setl_id", "mdtrt_id", "psn_no")),
         raw[sn]["insuplc_admdvs"],
         raw[sn]["mdtrtarea_admvs"], "21", raw[sn]["medins_list_codg"], raw[sn]["medins_list_name"],
         d(raw[sn]["det_item_fee_sumamt"]).quantize(d("0.01")), raw[sn]["fee_ocur_time"],
         raw[sn]["med_list_codg"] or None, "settlements.csv", insured, treatment, billing, code,
         source, [], None)
        for sn, insured, treatment, billing, code, source in CLEAN]
    expected = spark.createDataFrame(expected_rows, (
        "feedetl_sn string, setl_id string, mdtrt_id string, psn_no string, "
        "insuplc_admdvs string, mdtrtarea_admvs string, med_type string, medins_list_codg string, "
        "medins_list_name string, det_item_fee_sumamt decimal(18,2), fee_ocur_time string, "
        "med_list_codg string, _source_file string, insured_admdvs string, "
        "treatment_admdvs string, billing_catalog_region string, national_code string, "
        "mapping_source string, flags array<string>, settlement_month string"))
    got = two_provinces.table(spark, "settlements_clean")
    absent = ["cnt", "pric", "fixmedins_code", "gend", "age", "filing_type", "psn_type", "hosp_lv",
              "fund_pay_sumamt", "begntime", "endtime"]
    assert [c for c in got.columns if c not in expected.columns] == absent, \
        "optional columns absent from the input"
    assert got.where(F.coalesce(*[F.col(c).cast("string") for c in absent]).isNotNull()).isEmpty()
    got = got.select(*expected.columns).withColumns({
        "fee_ocur_time": F.date_format("fee_ocur_time", "yyyy-MM-dd HH:mm:ss"),
        "_source_file": F.regexp_extract("_source_file", r"([^/]+)$", 1)})
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_item_stats_whole_table(spark: SparkSession, two_provinces: Case):
    expected = spark.createDataFrame([
        ("330000", "310000", N1, 3, d("350.00"), 4),     # V1 (two lines), V2, V3
        ("330000", "310000", N2, 1, d("30.00"), 1),
        ("330000", "310000", N3, 1, d("20000.00"), 1),
        ("330000", "310000", N4, 2, d("10000.00"), 2),
        ("330000", "310000", N6, 2, d("20.00"), 2),
        ("330000", "330000", N1, 2, d("160.00"), 2),
        ("330000", "330000", N3, 1, d("15000.00"), 1),   # by the row's own national code
        ("330000", "330000", N4, 1, d("4000.00"), 1),
        ("310000", "330000", N5, 1, d("30.00"), 1),
        ("310000", "310000", N5, 1, d("25.00"), 1),
    ], "insured_admdvs string, treatment_admdvs string, national_code string, visits long, "
       "fee decimal(22,2), lines long")
    assert_df_equality(two_provinces.table(spark, "item_stats"), expected,
                       ignore_row_order=True, ignore_nullable=True)


def test_discrepant_items_by_hand(spark: SparkSession, two_provinces: Case):
    got = two_provinces.table(spark, "discrepant_items")
    schema = StructType([
        StructField("insured_admdvs", StringType()), StructField("treatment_admdvs", StringType()),
        StructField("national_code", StringType()), StructField("national_name", StringType()),
        StructField("class_l1", StringType()), StructField("class_l2", StringType()),
        StructField("function", StringType()),
        StructField("visits_treatment", LongType()), StructField("fee_treatment", DecimalType(22, 2)),
        StructField("visits_home", LongType()), StructField("fee_home", DecimalType(22, 2)),
    ])
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


def test_scheme_table_by_hand(spark: SparkSession, two_provinces: Case):
    got = two_provinces.table(spark, "scenario_results")
    schema = StructType([
        StructField("insured_admdvs", StringType()), StructField("treatment_admdvs", StringType()),
        StructField("scheme", LongType()), StructField("threshold", LongType()),
        StructField("item_count", LongType()), StructField("visits", LongType()),
        StructField("visits_retention_pct", DoubleType()),
        StructField("added_spend", DecimalType(22, 2)), StructField("spend_decline_pct", DoubleType()),
    ])
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


CLASS_SUMMARY_SCHEMA = (
    "insured_admdvs string, treatment_admdvs string, grouping string, group_code string, "
    "group_name string, item_count long, visits_treatment long, visits_treatment_pct double, "
    "fee_treatment decimal(22,2), fee_treatment_pct double, visits_home long, "
    "visits_home_pct double, fee_home decimal(22,2), fee_home_pct double, visits_total long, "
    "visits_total_pct double, fee_total decimal(22,2), fee_total_pct double")


def test_class_summary_whole_table(spark: SparkSession, two_provinces: Case):
    """Tables 2-3: pair (330000, 310000) has N1 N3 (class 3), N4 (2), N6 (1); totals 4 items,
    8 + 4 visits, 30,370 + 19,160 yuan. Pair (310000, 330000) has N5 alone."""
    expected = spark.createDataFrame([
        ("330000", "310000", "class_l1", "1", "综合医疗服务类", 1, 2, 25.0, d("20.00"), 0.07, 0, 0.0, d("0.00"), 0.0, 2, 16.67, d("20.00"), 0.04),  # noqa: E501
        ("330000", "310000", "class_l1", "2", "医技诊疗类", 1, 2, 25.0, d("10000.00"), 32.93, 1, 25.0, d("4000.00"), 20.88, 3, 25.0, d("14000.00"), 28.27),  # noqa: E501
        ("330000", "310000", "class_l1", "3", "临床诊疗类", 2, 4, 50.0, d("20350.00"), 67.01, 3, 75.0, d("15160.00"), 79.12, 7, 58.33, d("35510.00"), 71.69),  # noqa: E501
        ("330000", "310000", "class_l2", "11", "一般医疗服务", 1, 2, 25.0, d("20.00"), 0.07, 0, 0.0, d("0.00"), 0.0, 2, 16.67, d("20.00"), 0.04),  # noqa: E501
        ("330000", "310000", "class_l2", "24", "放射治疗", 1, 2, 25.0, d("10000.00"), 32.93, 1, 25.0, d("4000.00"), 20.88, 3, 25.0, d("14000.00"), 28.27),  # noqa: E501
        ("330000", "310000", "class_l2", "31", "临床各系统诊疗", 1, 3, 37.5, d("350.00"), 1.15, 2, 50.0, d("160.00"), 0.84, 5, 41.67, d("510.00"), 1.03),  # noqa: E501
        ("330000", "310000", "class_l2", "33", "手术治疗", 1, 1, 12.5, d("20000.00"), 65.85, 1, 25.0, d("15000.00"), 78.29, 2, 16.67, d("35000.00"), 70.66),  # noqa: E501
        ("330000", "310000", "function", "diagnostic", "诊断性项目", 1, 2, 25.0, d("20.00"), 0.07, 0, 0.0, d("0.00"), 0.0, 2, 16.67, d("20.00"), 0.04),  # noqa: E501
        ("330000", "310000", "function", "therapeutic", "治疗性项目", 3, 6, 75.0, d("30350.00"), 99.93, 4, 100.0, d("19160.00"), 100.0, 10, 83.33, d("49510.00"), 99.96),  # noqa: E501
        ("330000", "310000", "total", "total", "合计", 4, 8, 100.0, d("30370.00"), 100.0, 4, 100.0, d("19160.00"), 100.0, 12, 100.0, d("49530.00"), 100.0),  # noqa: E501
        ("310000", "330000", "class_l1", "4", "中医及民族医诊疗类", 1, 1, 100.0, d("30.00"), 100.0, 1, 100.0, d("25.00"), 100.0, 2, 100.0, d("55.00"), 100.0),  # noqa: E501
        ("310000", "330000", "class_l2", "43", "针刺", 1, 1, 100.0, d("30.00"), 100.0, 1, 100.0, d("25.00"), 100.0, 2, 100.0, d("55.00"), 100.0),  # noqa: E501
        ("310000", "330000", "function", "therapeutic", "治疗性项目", 1, 1, 100.0, d("30.00"), 100.0, 1, 100.0, d("25.00"), 100.0, 2, 100.0, d("55.00"), 100.0),  # noqa: E501
        ("310000", "330000", "total", "total", "合计", 1, 1, 100.0, d("30.00"), 100.0, 1, 100.0, d("25.00"), 100.0, 2, 100.0, d("55.00"), 100.0),  # noqa: E501
    ], CLASS_SUMMARY_SCHEMA)
    assert_df_equality(two_provinces.table(spark, "class_summary"), expected,
                       ignore_row_order=True, ignore_nullable=True)


def test_review_queue_whole_table(spark: SparkSession, two_provinces: Case):
    got = two_provinces.table(spark, "review_queue")
    blank = [None] * 9
    expected = spark.createDataFrame(
        [(1, "310000", "310000", "SH07", "高压氧舱", "01", "no_candidate", d("60.00"), 1, 1,
          *blank, None, None, None, "test-run", None, None, None, None, None)],
        "queue_rank int, catalog_region string, catalog_admdvs string, local_code string, "
        "local_name string, chrgitm_lv string, review_status string, fee_at_stake decimal(22,2), "
        "visits_at_stake long, lines_at_stake long, "
        + "".join(f"candidate_{n}_code string, candidate_{n}_name string, "
                  f"candidate_{n}_score double, " for n in (1, 2, 3))
        + "code_conflict string, stale_decision_code string, stale_decided_by string, "
        "run_id string, action string, candidate string, code string, reviewer string, "
        "decided_on string")
    assert_df_equality(got, expected, ignore_nullable=True)


def test_every_row_is_clean_or_quarantined_with_its_reason(spark: SparkSession,
                                                           two_provinces: Case):
    quarantine = two_provinces.table(spark, "settlements_quarantine").select(
        "feedetl_sn", "reason", "source_row")
    serials = [line.split(",")[0] for line in settlement_lines()[1:]]
    # source_row: the row's number below the header; of the two identical copies of
    # serial 1 the later one is the duplicate.
    row = {sn: n for n, sn in enumerate(serials, start=1)}
    expected = spark.createDataFrame(
        [(pseudonym_of(sn), reason, row[sn]) for sn, reason in (
            ("17", "fee_not_positive"), ("18", "missing_item_code"), ("1", "duplicate_feedetl_sn"),
            ("19", "out_of_period"), ("20", "unknown_region"))],
        "feedetl_sn string, reason string, source_row long")
    assert serials.count("1") == 2 and row["1"] > serials.index("1") + 1
    assert_df_equality(quarantine, expected, ignore_row_order=True, ignore_nullable=True)


def test_exports_and_charts(two_provinces: Case):
    exports = two_provinces.out / "exports"
    for name in ("scenario_results", "discrepant_items", "class_summary", "suppression_log",
                 "internal/review_queue"):
        assert (exports / f"{name}.csv").read_bytes()[:3] == b"\xef\xbb\xbf", \
            f"{name}.csv starts with a UTF-8 BOM for Excel"
    schemes = (exports / "scenario_results.csv").read_text(encoding="utf-8-sig").splitlines()
    assert schemes[0] == ("参保地,就医地,方案,纳入阈值（人次）,项目数,就诊人次,人次保留率（%）,"
                          "新增医保支出（元）,支出降幅（%）"), "Chinese titles (report.headers)"
    assert schemes[1:4] == ["上海市 310000,浙江省 330000,1,0,1,2,100.0,55.00,0.0",
                            "上海市 310000,浙江省 330000,2,2,0,0,0.0,0.00,100.0",
                            "上海市 310000,浙江省 330000,3,3,0,0,0.0,0.00,100.0"], \
        "sorted by pair and scheme, region names beside codes, yuan with two decimals"
    charts = sorted(p.name for p in (exports / "charts").glob("*.png"))
    assert charts == ["schemes_310000_330000.png", "schemes_330000_310000.png"]
    internal = sorted(p.name for p in (exports / "internal" / "charts").glob("*.png"))
    assert internal == [f"{kind}_{region}.png" for kind in ("budget", "frontier", "tornado")
                        for region in ("310000", "330000")]
    summary = json.loads((exports / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["totals"] == {"settlement_rows_clean": 17, "settlement_rows_quarantined": 5,
                                 "catalog_items": 11, "review_queue_items": 1, "pairs": 2,
                                 "discrepant_items": 5, "charts": 2}
