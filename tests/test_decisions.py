"""Decisions per insured region and per region group on hand-computed cases.

The insured-region case: Zhejiang (330000) covers B only; Jiangsu (320000) covers A and C;
Shanghai (310000) covers A, B and C. Zhejiang's insured use A in Shanghai (4 visits), in
Jiangsu (3) and at home (7), C in Shanghai (1), B in Jiangsu (not covered there: not
discrepant); Jiangsu's insured use B in Shanghai (2) and at home (1).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from catalogbridge.decisions.groups import (
    group_harmonisation,
    group_members,
    group_rules,
    group_summary,
    group_use,
)
from catalogbridge.decisions.insured import insured_decisions, insured_scenarios
from catalogbridge.decisions.settings import DecisionSettings
from catalogbridge.settings import SettingError
from catalogbridge.transforms.discrepancy import ITEM_COLUMNS, discrepant_items, region_coverage
from catalogbridge.transforms.scenarios import province_pairs, scenario_results
from jobs import run_pipeline
from tests.conftest import Case, copy_case
from tests.test_analysis import STATS_SCHEMA

D = Decimal
A, B, C = "003101000010000", "002501000010000", "003302000010000"
ZJ, JS, SH = "330000", "320000", "310000"
THREE_REGION_STATS = [
    (ZJ, SH, A, 4, D("40.00"), 4), (ZJ, JS, A, 3, D("30.00"), 3),
    (ZJ, SH, C, 1, D("900.00"), 1), (ZJ, JS, B, 5, D("50.00"), 5),
    (ZJ, ZJ, A, 7, D("70.00"), 7), (JS, SH, B, 2, D("6.00"), 2), (JS, JS, B, 1, D("3.00"), 1)]
DECISION_SCHEMA = (
    "insured_admdvs string, national_code string, national_name string, class_l1 string, "
    "class_l2 string, function string, covering_regions long, visits_away long, "
    "fee_away decimal(22,2), visits_home long, fee_home decimal(22,2), visits_total long, "
    "fee_total decimal(22,2)")
SCHEME_SCHEMA = (
    "insured_admdvs string, scheme long, threshold long, item_count long, visits long, "
    "visits_retention_pct double, added_spend decimal(22,2), spend_decline_pct double")


class ThreeRegions(NamedTuple):
    stats: DataFrame
    coverage: DataFrame
    national: DataFrame
    discrepant: DataFrame


def three_region_case(spark: SparkSession) -> ThreeRegions:
    """Shanghai covers A, B and C, Jiangsu A and C, Zhejiang B (A mapped as not covered)."""
    mapping = spark.createDataFrame(
        [(SH, A, True), (SH, B, True), (SH, C, True), (JS, A, True), (JS, C, True),
         (ZJ, A, False), (ZJ, B, True)],
        "catalog_region string, national_code string, covered boolean")
    lookup = spark.createDataFrame([(r, r) for r in (ZJ, JS, SH)],
                                   "region string, catalog_region string")
    coverage = region_coverage(mapping, lookup)
    stats = spark.createDataFrame(THREE_REGION_STATS, STATS_SCHEMA)
    national = spark.createDataFrame([(A, "心理咨询"), (B, "血常规"), (C, "颅内手术")],
                                     "national_code string, national_name string")
    return ThreeRegions(stats, coverage, national,
                        discrepant_items(stats, coverage=coverage, national=national))


@pytest.fixture(scope="module")
def three_regions(spark: SparkSession) -> tuple[DataFrame, DataFrame]:
    """(item_stats, discrepant_items) of the case."""
    case = three_region_case(spark)
    return case.stats, case.discrepant


def test_each_item_once_per_insured_region_with_home_use_once(
        spark: SparkSession, three_regions: tuple[DataFrame, DataFrame]) -> None:
    _, discrepant = three_regions
    expected = spark.createDataFrame([
        (ZJ, A, "心理咨询", "3", "31", "therapeutic", 2, 7, D("70.00"), 7, D("70.00"), 14,
         D("140.00")),
        (ZJ, C, "颅内手术", "3", "33", "therapeutic", 1, 1, D("900.00"), 0, D("0.00"), 1,
         D("900.00")),
        (JS, B, "血常规", "2", "25", "diagnostic", 1, 2, D("6.00"), 1, D("3.00"), 3, D("9.00")),
    ], DECISION_SCHEMA)
    assert_df_equality(insured_decisions(discrepant), expected, ignore_row_order=True,
                       ignore_nullable=True)


def test_summing_the_pairs_counts_home_use_once_per_pair(
        spark: SparkSession, three_regions: tuple[DataFrame, DataFrame]) -> None:
    """Zhejiang's scheme 1: the pairs add up to 22 visits and 1,110 yuan (its 7 home visits
    of A counted twice); its own view says 15 visits and 1,040 yuan."""
    stats, discrepant = three_regions
    pairs = scenario_results(discrepant, pairs=province_pairs(stats), spark=spark,
                             thresholds=[0]).where(f"insured_admdvs = '{ZJ}'")
    summed = pairs.groupBy().sum("visits", "added_spend").first()
    assert (summed[0], summed[1]) == (22, D("1110.00"))
    own = insured_scenarios(insured_decisions(discrepant), insured=stats.select("insured_admdvs"),
                            spark=spark, thresholds=[0], scope="therapeutic", threshold_on="away")
    row = own.where(f"insured_admdvs = '{ZJ}'").first()
    assert (row["visits"], row["added_spend"]) == (15, D("1040.00"))


@pytest.mark.parametrize(("scope", "threshold_on", "js_at_3"), [
    ("therapeutic", "away", (0, 0, None, D("0.00"), None)),
    ("all", "away", (0, 0, 0.0, D("0.00"), 100.0)),      # B: 2 visits away < 3
    ("all", "total", (1, 3, 100.0, D("9.00"), 0.0)),     # B: 2 away + 1 at home
])
def test_schemes_per_insured_region(
        spark: SparkSession, three_regions: tuple[DataFrame, DataFrame], scope: str,
        threshold_on: str, js_at_3: tuple[object, ...]) -> None:
    stats, discrepant = three_regions
    insured = province_pairs(stats).select("insured_admdvs").distinct()
    got = insured_scenarios(insured_decisions(discrepant), insured=insured, spark=spark,
                            thresholds=[0, 3], scope=scope, threshold_on=threshold_on)
    js_at_0 = ((1, 3, 100.0, D("9.00"), 0.0) if scope == "all"
               else (0, 0, None, D("0.00"), None))
    expected = spark.createDataFrame([
        (ZJ, 1, 0, 2, 15, 100.0, D("1040.00"), 0.0),
        # A only (7 visits away, 14 in all); 14 / 15 visits, 140 / 1,040 yuan
        (ZJ, 2, 3, 1, 14, 93.33, D("140.00"), 86.54),
        (JS, 1, 0, *js_at_0),
        (JS, 2, 3, *js_at_3),
    ], SCHEME_SCHEMA)
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


E, BJ, AH = "003401000010000", "110000", "340000"
GROUP_ROW = (
    "group_name string, rule string, min_members int, insured_admdvs string, "
    "national_code string, national_name string, class_l1 string, class_l2 string, "
    "function string, covering_members long, visits_home long, fee_home decimal(22,2), "
    "visits_away long, fee_away decimal(22,2), visits_total long, fee_total decimal(22,2)")
SUMMARY_ROW = ("group_name string, rule string, min_members int, insured_admdvs string, "
               "item_count long, items_used long, visits long, added_spend decimal(22,2), "
               "in_data boolean")


@pytest.fixture(scope="module")
def group_case(spark: SparkSession) -> tuple[DataFrame, DataFrame]:
    """(group_harmonisation, group_summary) of group G = Zhejiang, Jiangsu, Shanghai, Anhui.

    Anhui has no catalog in the data: it adds nothing (what it lacks is unknown) and is
    marked absent.

    Shanghai covers A, B, C, E; Jiangsu A, C; Zhejiang B; Beijing (not a member) A. Union:
    A, B, C, E; majority (2 of 3): A (Shanghai, Jiangsu), B (Shanghai, Zhejiang), C.
    """
    mapping = spark.createDataFrame(
        [(SH, A, True), (SH, B, True), (SH, C, True), (SH, E, True), (JS, A, True),
         (JS, C, True), (ZJ, B, True), (BJ, A, True)],
        "catalog_region string, national_code string, covered boolean")
    lookup = spark.createDataFrame([(r, r) for r in (ZJ, JS, SH, BJ)],
                                   "region string, catalog_region string")
    stats = spark.createDataFrame([
        (ZJ, SH, A, 4, D("40.00"), 4), (ZJ, JS, A, 3, D("30.00"), 3),
        (ZJ, BJ, A, 6, D("60.00"), 6),    # Beijing covers A now: counted
        (ZJ, BJ, C, 1, D("10.00"), 1),    # Beijing does not cover C, nor will it: not counted
        (ZJ, SH, C, 1, D("900.00"), 1), (ZJ, ZJ, A, 7, D("70.00"), 7),
        (ZJ, JS, E, 2, D("20.00"), 2),    # Jiangsu covers E under the union: counted
        (JS, SH, B, 2, D("6.00"), 2), (JS, JS, B, 1, D("3.00"), 1), (JS, JS, E, 1, D("5.00"), 1),
        (SH, ZJ, B, 3, D("9.00"), 3),
    ], STATS_SCHEMA)
    national = spark.createDataFrame(
        [(A, "心理咨询"), (B, "血常规"), (C, "颅内手术"), (E, "物理治疗")],
        "national_code string, national_name string")
    rules = group_rules(spark, {"G": [ZJ, JS, SH, AH]}, {"G": 2})  # Anhui: no catalog here
    coverage = region_coverage(mapping, lookup)
    use = group_use(stats, coverage=coverage, rules=rules)
    added = group_harmonisation(use, coverage=coverage, rules=rules, national=national)
    regions = coverage.select("region").distinct()
    return added, group_summary(added, rules=rules, regions=regions)


def test_each_member_adds_the_common_items_it_lacks(
        spark: SparkSession, group_case: tuple[DataFrame, DataFrame]) -> None:
    a = (A, "心理咨询", "3", "31", "therapeutic", 2, 7, D("70.00"), 13, D("130.00"), 20,
         D("200.00"))
    c = (C, "颅内手术", "3", "33", "therapeutic", 2, 0, D("0.00"), 1, D("900.00"), 1,
         D("900.00"))
    b = (B, "血常规", "2", "25", "diagnostic", 2, 1, D("3.00"), 2, D("6.00"), 3, D("9.00"))
    expected = spark.createDataFrame([
        ("G", "union", 1, ZJ, *a), ("G", "union", 1, ZJ, *c),
        ("G", "union", 1, ZJ, E, "物理治疗", "3", "34", "therapeutic", 1, 0, D("0.00"), 2,
         D("20.00"), 2, D("20.00")),
        ("G", "union", 1, JS, *b),
        ("G", "union", 1, JS, E, "物理治疗", "3", "34", "therapeutic", 1, 1, D("5.00"), 0,
         D("0.00"), 1, D("5.00")),
        ("G", "majority", 2, ZJ, *a), ("G", "majority", 2, ZJ, *c), ("G", "majority", 2, JS, *b),
    ], GROUP_ROW)
    assert_df_equality(group_case[0], expected, ignore_row_order=True, ignore_nullable=True)


def test_group_summary_per_member_and_for_the_group(
        spark: SparkSession, group_case: tuple[DataFrame, DataFrame]) -> None:
    expected = spark.createDataFrame([
        ("G", "union", 1, ZJ, 3, 3, 23, D("1120.00"), True),
        ("G", "union", 1, JS, 2, 2, 4, D("14.00"), True),
        ("G", "union", 1, SH, 0, 0, 0, D("0.00"), True),
        ("G", "union", 1, AH, 0, 0, 0, D("0.00"), False),
        ("G", "union", 1, None, 4, 4, 27, D("1134.00"), None),
        ("G", "majority", 2, ZJ, 2, 2, 21, D("1100.00"), True),
        ("G", "majority", 2, JS, 1, 1, 3, D("9.00"), True),
        ("G", "majority", 2, SH, 0, 0, 0, D("0.00"), True),
        ("G", "majority", 2, AH, 0, 0, 0, D("0.00"), False),
        ("G", "majority", 2, None, 3, 3, 24, D("1109.00"), None),
    ], SUMMARY_ROW)
    assert_df_equality(group_case[1], expected, ignore_row_order=True, ignore_nullable=True)


def test_at_city_level_a_province_member_stands_for_its_regions_in_the_data() -> None:
    groups = {"长三角": ["310000", "320000", "330000", "340000"], "杭甬": ["330100", "330200"]}
    regions = ["310100", "320100", "320500", "330000", "330100", "330200", "110100"]
    assert group_members(groups, regions=regions, region_level="city") == {
        # Anhui has no region in the data: it stays, and the summary marks it not in data
        "长三角": ["310100", "320100", "320500", "330000", "330100", "330200", "340000"],
        "杭甬": ["330100", "330200"]}
    assert group_members(groups, regions=regions, region_level="province") == groups


@pytest.mark.parametrize(("groups", "majority", "message"), [
    ({"长三角": ["310000", "999999"]}, 0, "groups.长三角: unknown region code(s) 999999"),
    ({"川渝": ["500000"]}, 0, "groups.川渝: list at least two distinct regions"),
    ({"川渝": ["500000", "510000"]}, 3, "majority_members: 3 is more than the 2 members"),
])
def test_bad_groups_name_the_group_and_the_fix(groups: dict[str, list[str]], majority: int,
                                              message: str) -> None:
    with pytest.raises(SettingError, match=re.escape(message)):
        DecisionSettings(groups=groups, majority_members=majority)


def test_majority_is_more_than_half_unless_set() -> None:
    assert [DecisionSettings().majority(n) for n in (2, 3, 4)] == [2, 2, 3]
    assert DecisionSettings(majority_members=2).majority(4) == 2


def test_the_pipeline_writes_the_decision_tables_and_summarises_them(
        spark: SparkSession, two_provinces: Case) -> None:
    """Two provinces: each insured region has one treatment region, so its decision view is
    its discrepant items with their use away and at home; the default groups' members
    outside the case are listed as absent from the data."""
    discrepant = two_provinces.table(spark, "discrepant_items")
    expected = discrepant.select(
        "insured_admdvs", *ITEM_COLUMNS, F.lit(1).cast("long").alias("covering_regions"),
        F.col("visits_treatment").alias("visits_away"), F.col("fee_treatment").alias("fee_away"),
        "visits_home", "fee_home",
        (F.col("visits_treatment") + F.col("visits_home")).alias("visits_total"),
        (F.col("fee_treatment") + F.col("fee_home")).cast("decimal(22,2)").alias("fee_total"))
    assert_df_equality(two_provinces.table(spark, "insured_decisions"), expected,
                       ignore_row_order=True, ignore_nullable=True)
    summary = json.loads((two_provinces.out / "exports" / "run_summary.json").read_text("utf-8"))
    decisions = summary["decisions"]
    assert decisions["insured_regions"] == 2
    assert decisions["insured_without_home_data"] == []
    absent = {(m["group_name"], m["insured_admdvs"]) for m in decisions["group_members_without_data"]}
    assert absent == {("长三角", "320000"), ("长三角", "340000"), ("京津冀", "110000"),
                      ("京津冀", "120000"), ("京津冀", "130000"), ("川渝", "500000"),
                      ("川渝", "510000")}
    assert {(g["group_name"], g["rule"]) for g in decisions["groups"]} == {
        (name, rule) for name in ("长三角", "京津冀", "川渝") for rule in ("union", "majority")}
    for name in ("insured_decisions", "insured_scenarios", "internal/group_harmonisation",
                 "internal/group_summary"):
        assert (two_provinces.out / "exports" / f"{name}.csv").read_bytes()[:3] == b"\xef\xbb\xbf"


@pytest.mark.slow
def test_at_city_level_the_default_groups_hold_the_cities_in_the_data(
        spark: SparkSession, two_provinces: Case, tmp_path: Path) -> None:
    """The case's insured and treatment cities are Shanghai (310100), Hangzhou (330100) and
    Ningbo (330200): at city level they are 长三角's members; Jiangsu and Anhui stay as
    provinces without data."""
    case = copy_case(two_provinces, tmp_path)
    assert run_pipeline.main([*case.args, "--set", "analysis.region_level=city",
                              "--set", "output.charts=false"]) == 0
    members = {(row.insured_admdvs, row.in_data) for row in case.table(spark, "group_summary")
               .where("group_name = '长三角' AND rule = 'union' AND insured_admdvs IS NOT NULL")
               .collect()}
    assert members == {("310100", True), ("330100", True), ("330200", True),
                       ("320000", False), ("340000", False)}
