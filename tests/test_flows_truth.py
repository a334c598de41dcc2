"""Flow tables of the generated national case against the generator's visit-level truth.

`ground_truth/flow_visits.csv` has one row per visit with at least one clean line (its month
is that of its earliest clean line), so every count below is recomputed in pandas from it
and compared exactly: the panel, the filing-type quality list and the surge alerts.
"""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession

from catalogbridge.flows.alerts import surge_alerts
from catalogbridge.flows.settings import DEFAULT_HOSPITAL_LEVELS, AlertSettings
from synth.cli import main as generate
from tests.conftest import ALERT_MIN_VISITS, Case

KEY = ["insured_admdvs", "treatment_admdvs", "period", "med_type", "cross_level"]


@pytest.fixture(scope="module")
def truth(national_case: Case) -> pd.DataFrame:
    v = pd.read_csv(national_case.root / "data" / "ground_truth" / "flow_visits.csv", dtype=str,
                    keep_default_na=False)
    v["insured_admdvs"] = v["insuplc_admdvs"].str[:2] + "0000"
    v["treatment_admdvs"] = v["mdtrtarea_admvs"].str[:2] + "0000"
    same_city = v["insuplc_admdvs"].str[:4] == v["mdtrtarea_admvs"].str[:4]
    v["cross_level"] = np.where(v["insured_admdvs"] != v["treatment_admdvs"], "inter_province",
                                np.where(same_city, "local", "intra_province"))
    for column in ("fee_cents", "fund_cents", "lines"):
        v[column] = v[column].astype("int64")
    return v


def _rollups(v: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for period in ("month", None):
        for med_type in ("med_type", None):
            g = v.assign(period=v[period] if period else "all",
                         med_type=v[med_type] if med_type else "all")
            frames.append(g.groupby(KEY).agg(persons=("psn_no", "nunique"), visits=("mdtrt_id", "size"),
                                             fee_cents=("fee_cents", "sum"),
                                             fund_cents=("fund_cents", "sum")).reset_index())
    return pd.concat(frames, ignore_index=True)


def test_flow_panel_equals_truth(spark: SparkSession, national_case: Case, truth: pd.DataFrame) -> None:
    got = national_case.table(spark, "flow_panel").toPandas()
    got["fee_cents"] = (got["fees"].astype(float) * 100).round().astype("int64")
    got["fund_cents"] = (got["fund_paid"].astype(float) * 100).round().astype("int64")
    columns = [*KEY, "persons", "visits", "fee_cents", "fund_cents"]
    expected = _rollups(truth)[columns].sort_values(KEY).reset_index(drop=True)
    assert len(expected) > 1000
    pd.testing.assert_frame_equal(got[columns].sort_values(KEY).reset_index(drop=True), expected,
                                  check_dtype=False)


def test_unknown_filing_types_are_listed(spark: SparkSession, national_case: Case,
                                         truth: pd.DataFrame) -> None:
    unknown = truth[(truth["filing_type"] != "") & (truth["cross_level"] != "local")
                    & ~truth["filing_type"].isin(["1", "2", "3", "4", "5", "6"])]
    # 0.2 % of away visits get code 9: at this size there may be none (test_flows has one).
    quality = national_case.table(spark, "flow_quality").where("check = 'unknown_filing_type'").toPandas()
    expected = unknown.groupby("filing_type").agg(visits=("mdtrt_id", "size"), lines=("lines", "sum"))
    got = quality.set_index("value")[["visits", "lines"]]
    assert sorted(got.itertuples(name=None)) == sorted(expected.itertuples(name=None))


def _expected_alerts(truth: pd.DataFrame) -> pd.DataFrame:
    cross = truth[truth["insured_admdvs"] != truth["treatment_admdvs"]]
    per = cross.groupby(["fixmedins_code", "treatment_admdvs", "month"]).agg(
        visits=("mdtrt_id", "size"), fee_cents=("fee_cents", "sum")).reset_index()
    per["baseline_period"] = (pd.PeriodIndex(per["month"], freq="M") - 1).strftime("%Y-%m")
    base = per.drop(columns="baseline_period").rename(columns={
        "month": "baseline_period", "visits": "baseline_visits",
                               "fee_cents": "baseline_cents"})
    joined = per.merge(base, on=["fixmedins_code", "treatment_admdvs", "baseline_period"])
    rise = (joined["fee_cents"] / joined["baseline_cents"] - 1) * 100
    alerts = joined[(joined["baseline_visits"] >= ALERT_MIN_VISITS) & (rise.round(2) >= 20)]
    return alerts.assign(stake=alerts["fee_cents"] - alerts["baseline_cents"]).sort_values(
        ["stake", "fixmedins_code"], ascending=[False, True]).reset_index(drop=True)


def test_surge_alerts_equal_truth(spark: SparkSession, national_case: Case, truth: pd.DataFrame) -> None:
    expected = _expected_alerts(truth)
    assert len(expected) > 0
    got = national_case.table(spark, "surge_alerts").orderBy("alert_rank").toPandas()
    assert list(got["alert_rank"]) == list(range(1, len(got) + 1))
    got_rows = list(zip(got["fixmedins_code"], got["period"], got["baseline_period"], got["visits"],
                        got["baseline_visits"], (got["fees"].astype(float) * 100).round().astype(int),
                        strict=True))
    assert got_rows == list(zip(expected["fixmedins_code"], expected["month"], expected["baseline_period"],
                                expected["visits"], expected["baseline_visits"], expected["fee_cents"],
                                strict=True))
    levels = truth.drop_duplicates("fixmedins_code").set_index("fixmedins_code")["hosp_lv"]
    assert list(got["hosp_level"]) == [DEFAULT_HOSPITAL_LEVELS[levels[c]] for c in got["fixmedins_code"]]


@pytest.mark.slow
def test_injected_surges_are_caught_with_default_settings(
        spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A 1 M-row year (the demo's size): every generated surge whose hospital's baseline month
    reaches the default minimum volume raises an alert in its surge month, with the defaults."""
    out = tmp_path_factory.mktemp("surges")
    assert generate(["--out", str(out), "--rows", "1000000", "--quiet"]) == 0
    v = pd.read_csv(out / "ground_truth" / "flow_visits.csv", dtype=str, keep_default_na=False)
    visits = spark.createDataFrame(pd.DataFrame({
        "mdtrt_id": v["mdtrt_id"], "insured_admdvs": v["insuplc_admdvs"].str[:2] + "0000",
        "treatment_admdvs": v["mdtrtarea_admvs"].str[:2] + "0000",
        "fixmedins_code": v["fixmedins_code"], "month": v["month"],
        "hosp_level": v["hosp_lv"].map(DEFAULT_HOSPITAL_LEVELS),
        "fees": (v["fee_cents"].astype("int64") / 100).map(lambda x: Decimal(f"{x:.2f}"))}),
        "mdtrt_id string, insured_admdvs string, treatment_admdvs string, fixmedins_code string, "
        "month string, hosp_level string, fees decimal(22,2)")
    defaults = AlertSettings()
    caught = {(r["fixmedins_code"], r["period"]) for r in surge_alerts(visits, alerts=defaults).collect()}
    cross = v[v["insuplc_admdvs"].str[:2] != v["mdtrtarea_admvs"].str[:2]]
    surges = pd.read_csv(out / "ground_truth" / "surges.csv", dtype=str)
    checked = 0
    for code, month in zip(surges["fixmedins_code"], surges["surge_month"], strict=True):
        before = cross[(cross["fixmedins_code"] == code)
                       & (cross["month"] == (pd.Period(month, freq="M") - 1).strftime("%Y-%m"))]
        if len(before) >= defaults.min_baseline_visits and \
                before["fee_cents"].astype("int64").sum() >= defaults.min_baseline_fees * 100:
            assert (code, month) in caught, code
            checked += 1
    assert checked >= 2


def test_insured_region_drivers_equal_truth(spark: SparkSession, national_case: Case,
                                            truth: pd.DataFrame) -> None:
    alerts = national_case.table(spark, "surge_alerts").toPandas()
    drivers = national_case.table(spark, "surge_drivers").where("driver = 'insured_region'").toPandas()
    cross = truth[truth["insured_admdvs"] != truth["treatment_admdvs"]]
    for alert in alerts.itertuples():
        at = cross[(cross["fixmedins_code"] == alert.fixmedins_code)
                   & cross["month"].isin([alert.period, alert.baseline_period])]
        fees = at.assign(now=at["month"] == alert.period).pivot_table(
            index="insured_admdvs", columns="now", values="fee_cents", aggfunc="sum", fill_value=0)
        fees = fees.reindex(columns=[False, True], fill_value=0)
        contribution = (fees[True] - fees[False]).sort_index()
        top = contribution.sort_values(ascending=False, kind="stable").head(5)
        mine = drivers[drivers["alert_rank"] == alert.alert_rank].sort_values("driver_rank")
        assert list(mine["code"]) == list(top.index)
        assert list((mine["contribution"].astype(float) * 100).round().astype(int)) == list(top)


def test_quality_report_lists_what_flows_could_not_read(spark: SparkSession, national_case: Case) -> None:
    report = json.loads((national_case.out / "exports" / "quality_report.json").read_text(encoding="utf-8"))
    table = national_case.table(spark, "flow_quality").toPandas()
    assert sorted((r["check"], r["value"], r["side"], r["visits"]) for r in report["flow_quality"]) == \
        sorted(zip(table["check"], table["value"], table["side"], table["visits"], strict=True))
    markdown = (national_case.out / "exports" / "quality_report.md").read_text(encoding="utf-8")
    assert "## Cross-region care: values the flow analyses could not read" in markdown
