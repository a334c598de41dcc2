"""Flow analyses on a hand-built case: every expected number below is worked out by hand.

Provinces A = 330000 (cities 330100, 330200) and B = 310000 (city 310100). Visits:
V1 P1 A->B 11 Jan 2 lines 100+50 (fund 60+30) filing 1, 退休, H1 (三级甲等)
V2 P1 A->B 21 Feb 1000 (700) filing 异地转诊 (a name), H1
V3 P2 A->B 11 Jan 200 (100) filing 9 (unknown), H2 (二级甲等)
V4 P3 B->A 11 Jan 80 (40) no filing, H3 (三级甲等)
V5 P4 A local 11 Jan 40 (30), H3;  V6 P5 330100->330200 11 Feb 60 (45) filing 2, H4 (一级甲等)
V7 P6 B local 11 Jan 90 (50), H1;  V8 P6 B local 11 Feb 110 (60), H2
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from catalogbridge.flows.checks import flow_quality
from catalogbridge.flows.concentration import institution_concentration
from catalogbridge.flows.panel import flow_balance, flow_destinations, flow_panel
from catalogbridge.flows.settings import FlowSettings
from catalogbridge.flows.travellers import cost_benchmarks, growth_windows, traveller_mix
from catalogbridge.flows.visits import cross_level, flow_visits, present_columns

A, B = "330000", "310000"
LINES = [  # visit, psn, insured city, treatment city, med_type, day, fee, fund, filing, type, hosp, lv
    ("V1", "P1", "330100", "310100", "11", "2023-01-05", "100", "60", "1", "退休", "H1", "02"),
    ("V1", "P1", "330100", "310100", "11", "2023-01-06", "50", "30", "1", "退休", "H1", "02"),
    ("V2", "P1", "330100", "310100", "21", "2023-02-01", "1000", "700", "异地转诊", "退休", "H1", "02"),
    ("V3", "P2", "330200", "310100", "11", "2023-01-09", "200", "100", "9", "在职", "H2", "05"),
    ("V4", "P3", "310100", "330100", "11", "2023-01-10", "80", "40", None, "在职", "H3", "02"),
    ("V5", "P4", "330100", "330100", "11", "2023-01-11", "40", "30", None, "在职", "H3", "02"),
    ("V6", "P5", "330100", "330200", "11", "2023-02-12", "60", "45", "2", "在职", "H4", "08"),
    ("V7", "P6", "310100", "310100", "11", "2023-01-13", "90", "50", None, "在职", "H1", "02"),
    ("V8", "P6", "310100", "310100", "11", "2023-02-14", "110", "60", None, "在职", "H2", "05"),
]
LINE_SCHEMA = ("mdtrt_id string, psn_no string, insuplc_admdvs string, mdtrtarea_admvs string, "
               "med_type string, fee_ocur_time timestamp, det_item_fee_sumamt decimal(18,2), "
               "fund_pay_sumamt decimal(18,2), filing_type string, psn_type string, "
               "fixmedins_code string, hosp_lv string, begntime timestamp, endtime timestamp")


def d(text: str) -> Decimal:
    return Decimal(text).quantize(Decimal("0.01"))


@pytest.fixture(scope="module")
def visits(spark: SparkSession) -> DataFrame:
    rows = []
    for visit, psn, ins, trt, mt, day, fee, fund, filing, ptype, hosp, lv in LINES:
        t = dt.datetime.fromisoformat(day + " 09:00:00")
        rows.append((visit, psn, ins, trt, mt, t, d(fee), d(fund), filing, ptype, hosp, lv,
                     t.replace(hour=8), t.replace(hour=12)))  # UTC: same day in Shanghai
    clean = spark.createDataFrame(rows, LINE_SCHEMA)
    return flow_visits(clean, flows=FlowSettings(), institutions=None).cache()


def test_cross_level_from_raw_codes(spark: SparkSession) -> None:
    pairs = spark.createDataFrame([("330100", "330100"), ("330100", "330200"), ("330100", "310100"),
                                   ("330000", "330000"), ("330000", "330100")], "i string, t string")
    got = [r[0] for r in pairs.select(cross_level(F.col("i"), F.col("t"))).collect()]
    assert got == ["local", "intra_province", "inter_province", "local",
                   "same_province_city_unknown"]


def test_visits_carry_names_unknowns_and_stays(visits: DataFrame) -> None:
    got = {r["mdtrt_id"]: r for r in visits.collect()}
    assert len(got) == 8
    assert got["V1"]["lines"] == 2 and got["V1"]["fees"] == d("150") and got["V1"]["fund_paid"] == d("90")
    assert got["V1"]["month"] == "2023-01" and got["V1"]["stay_days"] == 2
    assert (got["V1"]["filing_type"], got["V2"]["filing_type"], got["V3"]["filing_type"]) == (
        "异地安置退休", "异地转诊", "unknown")
    assert got["V4"]["filing_type"] == "not_recorded" and got["V5"]["filing_type"] is None
    assert (got["V1"]["hosp_level"], got["V1"]["hosp_tier"], got["V6"]["hosp_tier"]) == (
        "三级甲等", "三级", "一级")
    assert (got["V6"]["insured_admdvs"], got["V6"]["cross_level"]) == (A, "intra_province")


def test_panel_for_the_period(spark: SparkSession, visits: DataFrame) -> None:
    got = flow_panel(visits).where("period = 'all' AND med_type = 'all'")
    expected = spark.createDataFrame([
        (A, B, "all", "all", "inter_province", 2, 3, d("1350"), d("890"), d("450"), d("675"), 0.6593,
         2.0, 3.0, 16.875),
        (B, A, "all", "all", "inter_province", 1, 1, d("80"), d("40"), d("80"), d("80"), 0.5,
         0.5, 0.3333, 0.0593),
        (A, A, "all", "all", "local", 1, 1, d("40"), d("30"), d("40"), d("40"), 0.75, None, None, None),
        (A, A, "all", "all", "intra_province", 1, 1, d("60"), d("45"), d("60"), d("60"), 0.75,
         None, None, None),
        (B, B, "all", "all", "local", 1, 2, d("200"), d("110"), d("100"), d("200"), 0.55,
         None, None, None),
    ], "insured_admdvs string, treatment_admdvs string, period string, med_type string, "
       "cross_level string, persons long, visits long, fees decimal(22,2), fund_paid decimal(22,2), "
       "fees_per_visit decimal(22,2), fees_per_person decimal(22,2), fund_share double, "
       "persons_ratio double, visits_ratio double, fees_ratio double")
    assert_df_equality(got, expected.select(*got.columns), ignore_row_order=True,
                       ignore_nullable=True)


def test_panel_months_add_up_and_persons_do_not(visits: DataFrame) -> None:
    rows = flow_panel(visits).where(f"insured_admdvs = '{A}' AND treatment_admdvs = '{B}'").collect()
    cell = {(r["period"], r["med_type"]): (r["persons"], r["visits"]) for r in rows}
    assert cell[("2023-01", "11")] == (2, 2) and cell[("2023-02", "21")] == (1, 1)
    assert cell[("2023-01", "all")] == (2, 2) and cell[("2023-02", "all")] == (1, 1)
    assert cell[("all", "11")] == (2, 2) and cell[("all", "21")] == (1, 1)
    assert cell[("all", "all")] == (2, 3)  # P1 travelled in both months: one person


def test_panel_ratios_pair_each_direction_with_its_reverse_at_the_same_keys(visits: DataFrame) -> None:
    rows = flow_panel(visits).where(f"insured_admdvs = '{A}' AND treatment_admdvs = '{B}'").collect()
    ratios = {(r["period"], r["med_type"]): (r["persons_ratio"], r["visits_ratio"], r["fees_ratio"])
              for r in rows}
    assert ratios[("2023-01", "11")] == (2.0, 2.0, 4.375)  # V1+V3 (2 persons, 350) : V4 (1, 80)
    assert ratios[("2023-02", "21")] == (None, None, None)  # nobody from B treated in A then


def test_destinations_and_balance(spark: SparkSession, visits: DataFrame) -> None:
    got = flow_destinations(visits).select(
        "insured_admdvs", "treatment_admdvs", "persons", "visits", "fees", "visit_share", "rank")
    assert sorted(tuple(r) for r in got.collect()) == [
        (B, A, 1, 1, d("80"), 1.0, 1), (A, B, 2, 3, d("1350"), 1.0, 1)]
    balance = flow_balance(visits)
    expected = spark.createDataFrame([
        (A, 2, 2, d("100"), 2, 3, d("1350"), 1, 1, d("80"), -2, d("-1270"), 0.3333, 0.6),
        (B, 1, 2, d("200"), 1, 1, d("80"), 2, 3, d("1350"), 2, d("1270"), 3.0, 0.3333),
    ], "admdvs string, home_persons long, home_visits long, home_fees decimal(22,2), "
       "outflow_persons long, outflow_visits long, outflow_fees decimal(22,2), inflow_persons long, "
       "inflow_visits long, inflow_fees decimal(22,2), net_inflow_visits long, "
       "net_inflow_fees decimal(22,2), inflow_outflow_ratio double, outflow_rate double")
    assert_df_equality(balance, expected, ignore_row_order=True, ignore_nullable=True)


def test_concentration_top_institution_and_tiers(spark: SparkSession, visits: DataFrame) -> None:
    got = institution_concentration(visits, top_n=1, by_tier=True)
    expected = spark.createDataFrame([
        (B, "top_institutions", "top1", 2, 0.6667, 1, 0.5, 1.3333, d("1150"), 0.8519, d("90"), 0.45),
        (B, "hospital_tier", "三级", 2, 0.6667, 1, 0.5, 1.3333, d("1150"), 0.8519, d("90"), 0.45),
        (B, "hospital_tier", "二级", 1, 0.3333, 1, 0.5, 0.6667, d("200"), 0.1481, d("110"), 0.55),
        (A, "top_institutions", "top1", 1, 1.0, 1, 0.5, 2.0, d("80"), 1.0, d("40"), 0.4),
        (A, "hospital_tier", "三级", 1, 1.0, 1, 0.5, 2.0, d("80"), 1.0, d("40"), 0.4),
        (A, "hospital_tier", "一级", 0, 0.0, 1, 0.5, 0.0, d("0"), 0.0, d("60"), 0.6),
    ], "treatment_admdvs string, grouping string, group string, inflow_visits long, "
       "inflow_visits_share double, own_visits long, own_visits_share double, "
       "preference_index double, inflow_fees decimal(22,2), inflow_fees_share double, "
       "own_fees decimal(22,2), own_fees_share double")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_growth_windows() -> None:
    months = [f"2023-{m:02d}" for m in range(1, 13)]
    assert growth_windows(months) == (months[:3], months[-3:])
    assert growth_windows(["2023-02", "2023-01"]) == (["2023-01"], ["2023-02"])
    assert growth_windows(["2023-01"]) == ([], [])


def test_traveller_mix_by_filing_type(visits: DataFrame) -> None:
    got = traveller_mix(visits, dimensions=["filing_type"], months=["2023-01", "2023-02"]) \
        .where(f"insured_admdvs = '{A}' AND treatment_admdvs = '{B}'")
    rows = {r["value"]: r for r in got.collect()}
    assert set(rows) == {"异地安置退休", "异地转诊", "unknown"}
    settled = rows["异地安置退休"]
    assert (settled["visits"], settled["visit_share"], settled["fees_per_visit"]) == (1, 0.3333, d("150"))
    assert (settled["visits_first"], settled["visits_last"], settled["visit_growth"]) == (1, 0, -1.0)
    referral = rows["异地转诊"]
    assert (referral["share_first"], referral["share_last"], referral["visit_growth"]) == (0.0, 1.0, None)


def test_cost_benchmarks_against_home_and_own(visits: DataFrame) -> None:
    got = {(r["insured_admdvs"], r["med_type"]): r for r in cost_benchmarks(visits).collect()}
    a_in_b = got[(A, "all")]
    assert (a_in_b["fees_per_visit"], a_in_b["home_fees_per_visit"], a_in_b["own_fees_per_visit"]) == (
        d("450"), d("50"), d("100"))
    assert (a_in_b["visit_cost_vs_home"], a_in_b["visit_cost_vs_own"]) == (9.0, 4.5)
    assert (a_in_b["person_cost_vs_home"], a_in_b["person_cost_vs_own"]) == (13.5, 3.375)
    assert got[(A, "21")]["home_fees_per_visit"] is None  # nobody of A was an inpatient at home
    assert a_in_b["fund_share"] == 0.6593 and a_in_b["home_fund_share"] == 0.75


def test_quality_lists_unknown_codes_and_regions(spark: SparkSession, visits: DataFrame) -> None:
    got = flow_quality(visits, spark=spark, reference_codes=[A]).drop("fix")
    expected = spark.createDataFrame([
        ("unknown_filing_type", "9", "", 1, 1),
        ("region_not_in_reference", B, "insured", 3, 3),
        ("region_not_in_reference", B, "treatment", 5, 6),
    ], "check string, value string, side string, visits long, lines long")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_missing_optional_columns_are_logged(spark: SparkSession, caplog: pytest.LogCaptureFixture) -> None:
    clean = spark.createDataFrame([("V1", "P1", "330100", "310100", "11",
                                    dt.datetime(2023, 1, 5), d("10"))],
                                  "mdtrt_id string, psn_no string, insuplc_admdvs string, "
                                  "mdtrtarea_admvs string, med_type string, fee_ocur_time timestamp, "
                                  "det_item_fee_sumamt decimal(18,2)")
    bare = flow_visits(clean, flows=FlowSettings(), institutions=None)
    with caplog.at_level("INFO", logger="catalogbridge.flows"):
        found = present_columns(bare)
    assert not any(found.values())
    assert "settlement column filing_type has no values" in caplog.text
    assert "surge alerts skipped" in caplog.text
    assert bare.first()["filing_type"] == "not_recorded"
