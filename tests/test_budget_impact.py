"""Budget impact in Spark for every unit kind, on the three-region case of test_decisions.

Zhejiang (330000) covers B; Jiangsu (320000) A and C; Shanghai (310000) A, B and C.
Zhejiang's insured: A in Shanghai 4 visits / 40 yuan, in Jiangsu 3 / 30, at home 7 / 70;
C in Shanghai 1 / 900 (inpatient, med_type 21); B in Jiangsu 5 / 50 (not covered there).
Jiangsu's insured: B in Shanghai 2 / 6, at home 1 / 3. The fund pays 90 %, Zhejiang's
inpatient care 70 %. Thresholds 0 and 2 on every item (scope all).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from catalogbridge.decisions.budget import BudgetSettings, FundShare
from catalogbridge.decisions.groups import (
    group_harmonisation,
    group_rules,
    group_summary,
    group_use,
)
from catalogbridge.decisions.settings import DecisionSettings
from catalogbridge.names import INSURED, TREATMENT
from catalogbridge.pipeline.nodes import decide_per_insured, estimate_budget, simulate_schemes
from catalogbridge.transforms.scenarios import ScenarioSettings
from tests.conftest import Case
from tests.test_decisions import JS, SH, THREE_REGION_STATS, ZJ, C, three_region_case

D = Decimal
STATS = THREE_REGION_STATS
ROW = ("unit string, insured_admdvs string, treatment_admdvs string, group_name string, "
       "rule string, scheme long, year int, fund_impact decimal(22,2), "
       "patient_relief decimal(22,2)")


@pytest.fixture(scope="module")
def outputs(spark: SparkSession) -> dict[str, DataFrame]:
    stats, coverage, national, discrepant = three_region_case(spark)
    med_types = spark.createDataFrame(
        [(p, t, i, "21" if i == C else "11", v, f) for p, t, i, v, f, _ in STATS],
        "insured_admdvs string, treatment_admdvs string, national_code string, "
        "med_type string, visits long, fee decimal(22,2)")
    scenario = ScenarioSettings(thresholds=[0, 2], scope="all")
    decision = DecisionSettings(groups={"G": [ZJ, JS]}, budget=BudgetSettings(
        fund_share=0.9, fund_share_by=[FundShare(0.7, insured=ZJ, med_type="21")], draws=0))
    pair_schemes = simulate_schemes(discrepant=discrepant, stats=stats, spark=spark,
                                    scenario=scenario)["scenario_results"]
    insured = decide_per_insured(discrepant=discrepant, stats=stats, spark=spark,
                                 scenario=scenario, decision=decision)
    rules = group_rules(spark, decision.groups, {"G": 2})
    use = group_use(stats, coverage=coverage, rules=rules)
    groups = group_summary(
        group_harmonisation(use, coverage=coverage, rules=rules, national=national),
        rules=rules, regions=coverage.select("region").distinct())
    return estimate_budget(
        discrepant=discrepant, decisions=insured["insured_decisions"], pair_schemes=pair_schemes,
        insured_schemes=insured["insured_scenarios"], group_use=use, groups=groups,
        med_types=med_types, spark=spark, scenario=scenario, decision=decision)


def test_fund_impact_of_every_unit_with_shares_by_region_and_med_type(
        spark: SparkSession, outputs: dict[str, DataFrame]) -> None:
    def row(unit: str, p: str | None, t: str | None, g: str | None, r: str | None,
            scheme: int | None, fund: str) -> tuple[object, ...]:
        return (unit, p, t, g, r, scheme, 1, D(fund), D(fund))
    expected = spark.createDataFrame([
        # A: 40 + 70 at 90 %; C: 900 at 70 %
        row("pair", ZJ, SH, None, None, 1, "729.00"), row("pair", ZJ, SH, None, None, 2, "99.00"),
        row("pair", ZJ, JS, None, None, 1, "90.00"), row("pair", ZJ, JS, None, None, 2, "90.00"),
        row("pair", JS, SH, None, None, 1, "8.10"), row("pair", JS, SH, None, None, 2, "8.10"),
        # home use of A counted once: (40 + 30 + 70) x 0.9 + 900 x 0.7
        row("insured", ZJ, None, None, None, 1, "756.00"),
        row("insured", ZJ, None, None, None, 2, "126.00"),
        row("insured", JS, None, None, None, 1, "8.10"),
        row("insured", JS, None, None, None, 2, "8.10"),
        row("group", ZJ, None, "G", "union", None, "756.00"),
        row("group", JS, None, "G", "union", None, "8.10"),
        row("group", None, None, "G", "union", None, "764.10"),
        row("group", ZJ, None, "G", "majority", None, "0.00"),
        row("group", JS, None, "G", "majority", None, "0.00"),
        row("group", None, None, "G", "majority", None, "0.00"),
    ], ROW)
    got = outputs["budget_impact"].select(*expected.columns)
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_tornado_ranks_the_widest_swing_first(outputs: dict[str, DataFrame]) -> None:
    zj = (outputs["budget_sensitivity"]
          .where((F.col("unit") == "insured") & (F.col("insured_admdvs") == ZJ)
                 & (F.col("scheme") == 1))
          .orderBy("swing_rank").collect())
    # 756 base; price -20 %..+10 %: 604.80..831.60; share -0.2: 140 x 0.7 + 900 x 0.5 = 548;
    # demand +20 %: 907.20; growth: no effect in a one-year horizon
    assert [(r.parameter, r.impact_low, r.impact_high) for r in zj] == [
        ("price_change", D("604.80"), D("831.60")), ("fund_share", D("548.00"), D("756.00")),
        ("induced_demand", D("756.00"), D("907.20")), ("growth", D("756.00"), D("756.00"))]
    assert [r.swing_rank for r in zj] == [1, 2, 3, 4]


def test_the_pipeline_budget_with_the_paper_defaults_is_the_added_spend(
        spark: SparkSession, two_provinces: Case) -> None:
    """With the fund paying in full for one year, year 1 of every pair and insured region
    is its scheme's added spend, and the Monte Carlo interval holds it (base conf spreads)."""
    impact = two_provinces.table(spark, "budget_impact").where(F.col("year") == 1)
    for unit, schemes, keys in (("pair", "scenario_results", [INSURED, TREATMENT]),
                                ("insured", "insured_scenarios", [INSURED])):
        got = impact.where(F.col("unit") == unit).select(
            *keys, "scheme", F.col("fund_impact").alias("added_spend"))
        expected = two_provinces.table(spark, schemes).select(*keys, "scheme", "added_spend")
        assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
    rows = impact.where("fund_impact > 0").collect()
    assert rows and all(r.psa_low <= float(r.fund_impact) <= r.psa_high for r in rows)
    for name in ("budget_impact", "budget_sensitivity", "budget_frontier", "scheme_comparison"):
        internal = two_provinces.out / "exports" / "internal"
        assert (internal / f"{name}.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
