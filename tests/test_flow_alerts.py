"""Surge alerts, their drivers, and the distance-decay model, on hand-built cases.

Alerts case (institutions in B = 310000; A = 330000, C = 320000 insure the visitors):
HX Jan: X1 A 100 (item N1), X2 A 100 (N2); Feb: X3 A 100 (N1), X4 A 100 (N1), X5 C 200 (N3),
   and X6 of B's own insured 1000 (not cross-region): cross fees 200 -> 400, +100 %.
HY Jan: Y1, Y2 A 100 each; Feb: Y3, Y4 A 110 each: +10 %, below 20 %.
HZ Feb only: Z1 A 500: no baseline, no alert.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from catalogbridge.flows.alerts import _shift_text, period_of, shift_period, surge_alerts, surge_drivers
from catalogbridge.flows.distance import fit_gravity, pair_access
from catalogbridge.flows.regions import load_regions
from catalogbridge.flows.settings import AlertSettings
from catalogbridge.settings import SettingError

A, B, C = "330000", "310000", "320000"
VISITS = [  # visit, insured, institution, month, fee, item
    ("X1", A, "HX", "2023-01", "100", "N1"), ("X2", A, "HX", "2023-01", "100", "N2"),
    ("X3", A, "HX", "2023-02", "100", "N1"), ("X4", A, "HX", "2023-02", "100", "N1"),
    ("X5", C, "HX", "2023-02", "200", "N3"), ("X6", B, "HX", "2023-02", "1000", "N1"),
    ("Y1", A, "HY", "2023-01", "100", "N1"), ("Y2", A, "HY", "2023-01", "100", "N1"),
    ("Y3", A, "HY", "2023-02", "110", "N1"), ("Y4", A, "HY", "2023-02", "110", "N1"),
    ("Z1", A, "HZ", "2023-02", "500", "N1"),
]
SETTINGS = AlertSettings(min_baseline_visits=2, min_baseline_fees=100)


def d(text: str) -> Decimal:
    return Decimal(text).quantize(Decimal("0.01"))


@pytest.fixture(scope="module")
def visits(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [(v, i, B, h, m, "三级甲等", d(f)) for v, i, h, m, f, _ in VISITS],
        "mdtrt_id string, insured_admdvs string, treatment_admdvs string, fixmedins_code string, "
        "month string, hosp_level string, fees decimal(22,2)")


@pytest.fixture(scope="module")
def clean(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [(v, h, item, "L" + item, d(f)) for v, _, h, _, f, item in VISITS],
        "mdtrt_id string, fixmedins_code string, national_code string, medins_list_codg string, "
        "det_item_fee_sumamt decimal(18,2)")


def test_alert_for_the_institution_that_doubled(spark: SparkSession, visits: DataFrame,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="catalogbridge.flows"):
        got = surge_alerts(visits, alerts=SETTINGS)
    expected = spark.createDataFrame(
        [(1, "HX", B, "2023-02", "三级甲等", "2023-01", 3, 2, d("400"), d("200"), "fees", 100.0, d("200"))],
        "alert_rank int, fixmedins_code string, treatment_admdvs string, period string, "
        "hosp_level string, baseline_period string, visits long, baseline_visits long, "
        "fees decimal(22,2), baseline_fees decimal(22,2), measure string, rise_pct double, "
        "money_at_stake decimal(22,2)")
    assert_df_equality(got, expected, ignore_nullable=True)
    assert "no data in the baseline period of 2023-01" in caplog.text


def test_thresholds_and_measure(visits: DataFrame) -> None:
    by_visits = surge_alerts(visits, alerts=AlertSettings(measure="visits", surge_pct=50,
                                                          min_baseline_visits=2, min_baseline_fees=0))
    assert [(r["fixmedins_code"], r["rise_pct"]) for r in by_visits.collect()] == [("HX", 50.0)]
    assert surge_alerts(visits, alerts=AlertSettings(min_baseline_visits=3)).isEmpty()
    assert surge_alerts(visits, alerts=AlertSettings(surge_pct=101, min_baseline_visits=2,
                                                     min_baseline_fees=0)).isEmpty()
    low = surge_alerts(visits, alerts=AlertSettings(surge_pct=10, min_baseline_visits=2,
                                                    min_baseline_fees=0))
    assert [r["fixmedins_code"] for r in low.collect()] == ["HX", "HY"]  # by money at stake
    last_year = AlertSettings(baseline="same_period_last_year", min_baseline_visits=1)
    assert surge_alerts(visits, alerts=last_year).isEmpty()  # 2022 is not in the data


def test_drivers_items_and_insured_regions(spark: SparkSession, visits: DataFrame,
                                           clean: DataFrame) -> None:
    alerts = surge_alerts(visits, alerts=SETTINGS)
    got = surge_drivers(alerts, visits, clean, alerts=SETTINGS)
    expected = spark.createDataFrame([
        (1, "item", 1, "N3", 1, 0, d("200"), d("0"), d("200"), 1.0),
        (1, "item", 2, "N1", 2, 1, d("200"), d("100"), d("100"), 0.5),
        (1, "item", 3, "N2", 0, 1, d("0"), d("100"), d("-100"), -0.5),
        (1, "insured_region", 1, C, 1, 0, d("200"), d("0"), d("200"), 1.0),
        (1, "insured_region", 2, A, 2, 2, d("200"), d("200"), d("0"), 0.0),
    ], "alert_rank int, driver string, driver_rank int, code string, visits long, "
       "baseline_visits long, fees decimal(22,2), baseline_fees decimal(22,2), "
       "contribution decimal(23,2), share_of_rise double")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_quarters_and_baseline_shifts(spark: SparkSession) -> None:
    df = spark.createDataFrame([("2023-02",), ("2023-12",)], "month string")
    quarters = df.select(period_of(F.col("month"), "quarter").alias("q"))
    assert [r[0] for r in quarters.collect()] == ["2023-Q1", "2023-Q4"]
    shifted = quarters.select(shift_period(F.col("q"), 3, "quarter"), shift_period(F.col("q"), 12, "quarter"))
    assert [tuple(r) for r in shifted.collect()] == [("2022-Q4", "2022-Q1"), ("2023-Q3", "2022-Q4")]
    months = df.select(shift_period(F.col("month"), 1, "month"))
    assert [r[0] for r in months.collect()] == ["2023-01", "2023-11"]
    assert [_shift_text(p, n, k) for p, n, k in (("2023-01", 1, "month"), ("2023-Q1", 3, "quarter"),
                                                 ("2023-Q2", 12, "quarter"))] == [
        "2022-12", "2022-Q4", "2022-Q2"]


def test_bad_alert_settings_name_the_key() -> None:
    with pytest.raises(SettingError, match="baseline"):
        AlertSettings(baseline="last_month")
    with pytest.raises(SettingError, match="surge_pct"):
        AlertSettings(surge_pct=0)


def test_gravity_model_recovers_known_decay() -> None:
    """Visits drawn exactly from a gravity law: the Poisson GLM gives its slopes back."""
    regions = load_regions()
    codes = sorted(regions.loc[regions["level"] == "province", "code"])[:12]
    pairs = pair_access(pd.DataFrame(columns=["insured_admdvs", "treatment_admdvs", "visits", "persons"]),
                        regions, codes, "province")
    mean = np.exp(-12.0 + 0.9 * np.log(pairs["origin_population"]) + 0.7 * np.log(
        pairs["destination_population"]) - 1.4 * np.log(pairs["distance_km"]))
    flows = pairs[["insured_admdvs", "treatment_admdvs"]].assign(
        visits=np.round(mean * 1000).astype("int64"), persons=np.round(mean * 400).astype("int64"))
    fitted, summary = fit_gravity(pair_access(flows, regions, codes, "province"))
    row = summary.iloc[0]
    assert row["pairs"] == 12 * 11 and row["pairs_with_visits"] == 12 * 11
    assert row["log_distance_km_coef"] == pytest.approx(-1.4, abs=0.01)
    assert row["log_origin_population_coef"] == pytest.approx(0.9, abs=0.01)
    assert row["log_destination_population_coef"] == pytest.approx(0.7, abs=0.01)
    assert row["log_distance_km_ci_low"] < -1.4 < row["log_distance_km_ci_high"] or \
        abs(row["log_distance_km_coef"] + 1.4) < 0.001
    assert row["deviance_explained"] > 0.99
    assert row["spearman_rate_distance"] < 0
    assert fitted["fitted_visits"].notna().all()


def test_gravity_skipped_with_too_few_pairs(caplog: pytest.LogCaptureFixture) -> None:
    regions = load_regions()
    pairs = pair_access(pd.DataFrame({"insured_admdvs": [A], "treatment_admdvs": [B], "visits": [5],
                                      "persons": [3]}), regions, [A, B, "999999"], "province")
    assert len(pairs) == 2  # 999999 is not in the reference: no distance, no pair
    with caplog.at_level(logging.INFO, logger="catalogbridge.flows"):
        fitted, summary = fit_gravity(pairs)
    assert "too few for the gravity model" in caplog.text
    assert np.isnan(summary.iloc[0]["log_distance_km_coef"])
    a_to_b = fitted[fitted["insured_admdvs"] == A].iloc[0]
    assert a_to_b["visits_per_100k"] == round(5 * 100_000 / a_to_b["origin_population"], 4)
    assert fitted.loc[fitted["insured_admdvs"] == B, "visits"].tolist() == [0]
