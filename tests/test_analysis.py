"""Item statistics, discrepancy, schemes and class summaries on hand-computed frames."""

from __future__ import annotations

from decimal import Decimal

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from catalogbridge.transforms.discrepancy import discrepant_items, region_coverage
from catalogbridge.transforms.scenarios import class_summary, province_pairs, scenario_results
from catalogbridge.transforms.statistics import item_stats

D = Decimal
A, B, C = "003101000010000", "002501000010000", "003302000010000"
STATS_SCHEMA = ("insured_admdvs string, treatment_admdvs string, national_code string, "
                "visits long, fee decimal(22,2), lines long")
DISCREPANT_SCHEMA = (
    "insured_admdvs string, treatment_admdvs string, national_code string, national_name string, "
    "class_l1 string, class_l2 string, function string, visits_treatment long, "
    "fee_treatment decimal(22,2), visits_home long, fee_home decimal(22,2)")


def test_item_stats_counts_a_multi_line_visit_once(spark: SparkSession) -> None:
    clean = spark.createDataFrame([
        ("330000", "310000", A, "V1", D("10.00")), ("330000", "310000", A, "V1", D("5.50")),
        ("330000", "310000", A, "V2", D("10.00")), ("330000", "310000", B, "V1", D("3.00")),
        ("330000", "330000", A, "V3", D("8.00")), ("330000", "310000", None, "V4", D("9.00")),
    ], "insured_admdvs string, treatment_admdvs string, national_code string, mdtrt_id string, "
       "det_item_fee_sumamt decimal(18,2)")
    expected = spark.createDataFrame([
        ("330000", "310000", A, 2, D("25.50"), 3), ("330000", "310000", B, 1, D("3.00"), 1),
        ("330000", "330000", A, 1, D("8.00"), 1),
    ], STATS_SCHEMA)
    assert_df_equality(item_stats(clean), expected, ignore_row_order=True, ignore_nullable=True)


def _coverage(spark: SparkSession, rows: list[tuple[str, str, bool]]) -> DataFrame:
    mapping = spark.createDataFrame(
        [(r, code, cov) for r, code, cov in rows],
        "catalog_region string, national_code string, covered boolean")
    lookup = spark.createDataFrame([("310000", "310000"), ("330000", "330000")],
                                   "region string, catalog_region string")
    return region_coverage(mapping, lookup)


def test_level_03_and_absent_are_both_not_covered(spark: SparkSession) -> None:
    # Shanghai covers A, B, C. Zhejiang lists A at 03, lacks C, covers B.
    coverage = _coverage(spark, [("310000", A, True), ("310000", B, True), ("310000", C, True),
                                 ("330000", A, False), ("330000", B, True)])
    stats = spark.createDataFrame([
        ("330000", "310000", A, 4, D("40.00"), 4), ("330000", "310000", B, 2, D("6.00"), 2),
        ("330000", "310000", C, 1, D("900.00"), 1), ("330000", "330000", A, 7, D("70.00"), 7),
    ], STATS_SCHEMA)
    national = spark.createDataFrame([(A, "心理咨询"), (B, "血常规"), (C, "颅内手术")],
                                     "national_code string, national_name string")
    expected = spark.createDataFrame([
        ("330000", "310000", A, "心理咨询", "3", "31", "therapeutic", 4, D("40.00"), 7, D("70.00")),
        ("330000", "310000", C, "颅内手术", "3", "33", "therapeutic", 1, D("900.00"), 0, D("0.00")),
    ], DISCREPANT_SCHEMA)
    got = discrepant_items(stats, coverage=coverage, national=national)
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_a_pair_with_no_discrepant_items_still_gets_its_schemes(spark: SparkSession) -> None:
    coverage = _coverage(spark, [("310000", A, True), ("330000", A, True)])
    stats = spark.createDataFrame([("330000", "310000", A, 4, D("40.00"), 4)], STATS_SCHEMA)
    national = spark.createDataFrame([(A, "心理咨询")], "national_code string, national_name string")
    discrepant = discrepant_items(stats, coverage=coverage, national=national)
    assert discrepant.count() == 0
    got = scenario_results(discrepant, pairs=province_pairs(stats), spark=spark, thresholds=[0, 1])
    expected = spark.createDataFrame([
        ("330000", "310000", 1, 0, 0, 0, None, D("0.00"), None),
        ("330000", "310000", 2, 1, 0, 0, None, D("0.00"), None),
    ], "insured_admdvs string, treatment_admdvs string, scheme long, threshold long, "
       "item_count long, visits long, visits_retention_pct double, added_spend decimal(22,2), "
       "spend_decline_pct double")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def _discrepant(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame([
        ("330000", "310000", "I1", "x", "3", "31", "therapeutic", 100, D("1000.00"), 50, D("500.00")),
        ("330000", "310000", "I2", "x", "3", "33", "therapeutic", 99, D("300.00"), 1, D("100.00")),
        ("330000", "310000", "I3", "x", "2", "24", "therapeutic", 200, D("600.00"), 0, D("0.00")),
        ("330000", "310000", "I4", "x", "2", "25", "diagnostic", 900, D("90.00"), 100, D("10.00")),
    ], DISCREPANT_SCHEMA)


def test_threshold_edges_and_scope(spark: SparkSession) -> None:
    pairs = spark.createDataFrame([("330000", "310000")], "insured_admdvs string, treatment_admdvs string")
    got = scenario_results(_discrepant(spark), pairs=pairs, spark=spark, thresholds=[0, 100, 200, 201])
    # therapeutic: I1 (150 visits, 1500), I2 (100, 400), I3 (200, 600); I4 is diagnostic.
    expected = spark.createDataFrame([
        ("330000", "310000", 1, 0, 3, 450, 100.0, D("2500.00"), 0.0),
        ("330000", "310000", 2, 100, 2, 350, 77.78, D("2100.00"), 16.0),  # 100 is included, 99 not
        ("330000", "310000", 3, 200, 1, 200, 44.44, D("600.00"), 76.0),
        ("330000", "310000", 4, 201, 0, 0, 0.0, D("0.00"), 100.0),
    ], "insured_admdvs string, treatment_admdvs string, scheme long, threshold long, "
       "item_count long, visits long, visits_retention_pct double, added_spend decimal(22,2), "
       "spend_decline_pct double")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
    everything = scenario_results(_discrepant(spark), pairs=pairs, spark=spark, thresholds=[0],
                                  scope="all").select("item_count", "visits", "added_spend")
    assert everything.collect()[0].asDict() == {"item_count": 4, "visits": 1450,
                                               "added_spend": D("2600.00")}


def test_class_summary_by_class_function_and_total(spark: SparkSession) -> None:
    got = class_summary(_discrepant(spark)).where("grouping in ('class_l1', 'function', 'total')")
    got = got.select("grouping", "group_code", "group_name", "item_count", "visits_treatment",
                     "visits_treatment_pct", "fee_home", "fee_home_pct", "visits_total",
                     "visits_total_pct")
    expected = spark.createDataFrame([
        ("class_l1", "2", "医技诊疗类", 2, 1100, 84.68, D("10.00"), 1.64, 1200, 82.76),
        ("class_l1", "3", "临床诊疗类", 2, 199, 15.32, D("600.00"), 98.36, 250, 17.24),
        ("function", "diagnostic", "诊断性项目", 1, 900, 69.28, D("10.00"), 1.64, 1000, 68.97),
        ("function", "therapeutic", "治疗性项目", 3, 399, 30.72, D("600.00"), 98.36, 450, 31.03),
        ("total", "total", "合计", 4, 1299, 100.0, D("610.00"), 100.0, 1450, 100.0),
    ], "grouping string, group_code string, group_name string, item_count long, "
       "visits_treatment long, visits_treatment_pct double, fee_home decimal(22,2), "
       "fee_home_pct double, visits_total long, visits_total_pct double")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
