"""The cross-region care columns (synth.flows) and their ground truth agree with the files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from synth import regions as R
from tests.synth.test_synth import _catalogs, _defects, _gen, _settlements

NEW_COLUMNS = {
    "filing_type": "string",
    "psn_type": "string",
    "hosp_lv": "string",
    "fund_pay_sumamt": "double",
    "begntime": "timestamp[us]",
    "endtime": "timestamp[us]",
}
FILING = {"1", "2", "3", "4", "5", "6", "9"}
LEVELS = {"02", "03", "05", "06", "08"}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, pd.Series]:
    """A small case with defects: (dir, all rows, clean mask)."""
    out = tmp_path_factory.mktemp("flows")
    _gen(out, dirty_rate=0.05)
    df = _settlements(out)
    dirty = np.zeros(len(df), dtype=bool)
    for mask in _defects(df, _catalogs(out)).values():
        dirty |= mask.to_numpy()
    return out, df, pd.Series(~dirty, index=df.index)


def _clean(data: tuple[Path, pd.DataFrame, pd.Series]) -> pd.DataFrame:
    _, df, clean = data
    return df[clean]


def _cents(s: pd.Series) -> pd.Series:
    return (s * 100.0).round().astype(np.int64)


def _other_province(df: pd.DataFrame) -> pd.Series:
    return df["insuplc_admdvs"].str[:2] != df["mdtrtarea_admvs"].str[:2]


def test_new_columns_and_types(data: tuple[Path, pd.DataFrame, pd.Series]) -> None:
    out, df, _ = data
    schema = pq.read_schema(out / "settlements" / "part-00000.parquet")
    names = schema.names
    assert names[names.index("med_list_codg") + 1 :] == list(NEW_COLUMNS)
    assert {n: str(schema.field(n).type) for n in NEW_COLUMNS} == NEW_COLUMNS
    assert set(df["filing_type"].dropna()) <= FILING and set(df["hosp_lv"]) <= LEVELS
    assert set(df["psn_type"]) == {"在职", "退休"}
    man_files = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert man_files["institutions"] == "institutions.csv"
    assert man_files["flow_visits"] == "ground_truth/flow_visits.csv"


def test_stay_brackets_every_clean_line(data: tuple[Path, pd.DataFrame, pd.Series]) -> None:
    _, df, _ = data
    c = _clean(data)
    assert (c["begntime"] <= c["fee_ocur_time"]).all() and (c["fee_ocur_time"] <= c["endtime"]).all()
    assert (df.groupby("mdtrt_id")[["begntime", "endtime"]].nunique() == 1).all().all()
    first = c.groupby("mdtrt_id")["fee_ocur_time"].min()
    begin = c.groupby("mdtrt_id")["begntime"].first()
    assert (begin <= first).all()
    # the stay starts on the day of the earliest line (which may be a defect row)
    assert (begin.dt.normalize() == first.dt.normalize()).mean() > 0.95
    inpatient = c[c["med_type"] == "21"]
    assert ((inpatient["endtime"] - inpatient["begntime"]) > pd.Timedelta(days=1)).any()


def test_filing_type_null_exactly_at_home(data: tuple[Path, pd.DataFrame, pd.Series]) -> None:
    c = _clean(data)
    home = c["insuplc_admdvs"] == c["mdtrtarea_admvs"]
    assert (c["filing_type"].isna() == home).all()
    away = c[~home].drop_duplicates("mdtrt_id")
    retired = away[away["psn_type"] == "退休"]["filing_type"].value_counts(normalize=True)
    working = away[away["psn_type"] == "在职"]["filing_type"].value_counts(normalize=True)
    assert retired.idxmax() == "1" and working.idxmax() in {"3", "4"}
    assert working.get("1", 0.0) == 0.0 and retired.get("3", 0.0) == 0.0
    ref = away.groupby(away["med_type"] == "21")["filing_type"].apply(lambda s: (s == "4").mean())
    assert ref[True] > ref[False]  # inpatients are more often referred


def test_person_type_and_levels(data: tuple[Path, pd.DataFrame, pd.Series]) -> None:
    out, df, _ = data
    assert (df.groupby("psn_no")["psn_type"].nunique() == 1).all()
    assert ((df["age"] >= 60) == (df["psn_type"] == "退休")).all()
    assert (df.groupby("fixmedins_code")["hosp_lv"].nunique() == 1).all()
    inst = pd.read_csv(out / "institutions.csv", dtype=str, keep_default_na=False)
    assert inst.columns.tolist() == ["fixmedins_code", "fixmedins_name", "admdvs", "hosp_lv"]
    assert not inst["fixmedins_code"].duplicated().any()
    assert (inst["admdvs"] == inst["fixmedins_code"].str[1:7]).all()
    assert set(inst["admdvs"]) == set(R.city_table().codes)
    idx = inst["fixmedins_code"].str[7:].astype(int)
    expect = np.select([idx < 3, idx < 8, idx < 30, idx < 60], ["02", "03", "05", "06"], "08")
    assert (inst["hosp_lv"] == expect).all()
    used = df[["fixmedins_code", "hosp_lv"]].drop_duplicates()
    m = used.merge(inst, on="fixmedins_code", how="left", suffixes=("", "_inst"))
    assert m["hosp_lv_inst"].notna().all() and (m["hosp_lv"] == m["hosp_lv_inst"]).all()
    # Cross-province visits go to the big hospitals.
    visits = df.drop_duplicates("mdtrt_id")
    top = visits["hosp_lv"].isin(["02", "03"])
    assert top[_other_province(visits)].mean() > top[~_other_province(visits)].mean()


def test_fund_paid_amount(data: tuple[Path, pd.DataFrame, pd.Series]) -> None:
    c = _clean(data)
    fund, fee = c["fund_pay_sumamt"], c["det_item_fee_sumamt"]
    assert (fund > 0).all() and (fund <= fee).all()
    assert (fund.round(2) == fund).all()
    share = (fund / fee)[fee >= 10]
    assert share.between(0.09, 0.96).all()
    by_type = share.groupby(c.loc[share.index, "psn_type"]).mean()
    assert by_type["退休"] > by_type["在职"]


def _visit_truth(c: pd.DataFrame) -> pd.DataFrame:
    g = c.assign(fee_cents=_cents(c["det_item_fee_sumamt"]), fund_cents=_cents(c["fund_pay_sumamt"]))
    first = ["psn_no", "insuplc_admdvs", "mdtrtarea_admvs", "med_type", "fixmedins_code", "hosp_lv",
             "filing_type", "psn_type"]
    agg = g.groupby("mdtrt_id").agg(
        **{k: (k, "first") for k in first},
        month=("fee_ocur_time", "min"),
        lines=("feedetl_sn", "size"),
        fee_cents=("fee_cents", "sum"),
        fund_cents=("fund_cents", "sum"),
    ).reset_index()
    agg["month"] = agg["month"].dt.strftime("%Y-%m")
    agg["filing_type"] = agg["filing_type"].fillna("")
    return agg


def test_flow_visits_match_clean_rows(data: tuple[Path, pd.DataFrame, pd.Series]) -> None:
    out, _, _ = data
    c = _clean(data)
    exp = pd.read_csv(out / "ground_truth" / "flow_visits.csv", dtype=str, keep_default_na=False)
    for k in ("lines", "fee_cents", "fund_cents"):
        exp[k] = exp[k].astype(np.int64)
    got = _visit_truth(c)[exp.columns]
    key = ["mdtrt_id"]
    pd.testing.assert_frame_equal(exp.sort_values(key).reset_index(drop=True),
                                  got.sort_values(key).reset_index(drop=True))
    assert (c.groupby("mdtrt_id")[["filing_type", "hosp_lv", "psn_type"]].nunique(dropna=False) == 1
            ).all().all()


def test_flow_items_add_up(data: tuple[Path, pd.DataFrame, pd.Series]) -> None:
    out, _, _ = data
    c = _clean(data)
    truth = pd.read_csv(out / "ground_truth" / "catalog_truth.csv", dtype=str)
    c = c[_other_province(c)].assign(
        treatment=lambda d: d["mdtrtarea_admvs"].str[:2] + "0000",
        insured_admdvs=lambda d: d["insuplc_admdvs"].str[:2] + "0000",
        fee_cents=lambda d: _cents(d["det_item_fee_sumamt"]),
    )
    c["month"] = c.groupby("mdtrt_id")["fee_ocur_time"].transform("min").dt.strftime("%Y-%m")
    m = c.merge(truth, left_on=["treatment", "medins_list_codg"], right_on=["admdvs", "item_code"],
                how="left", validate="many_to_one")
    keys = ["fixmedins_code", "insured_admdvs", "month", "national_code"]
    got = (m.rename(columns={"true_national_code": "national_code"}).groupby(keys)
           .agg(lines=("feedetl_sn", "size"), fee_cents=("fee_cents", "sum")).reset_index())
    exp = pd.read_csv(out / "ground_truth" / "flow_items.csv", dtype=str)
    for k in ("lines", "fee_cents"):
        exp[k] = exp[k].astype(np.int64)
    pd.testing.assert_frame_equal(exp.sort_values(keys).reset_index(drop=True),
                                  got[exp.columns].sort_values(keys).reset_index(drop=True))
    visits = pd.read_csv(out / "ground_truth" / "flow_visits.csv", dtype=str)
    away = visits[visits["insuplc_admdvs"].str[:2] != visits["mdtrtarea_admvs"].str[:2]]
    assert exp["fee_cents"].sum() == away["fee_cents"].astype(np.int64).sum()


def test_csv_format_and_big_runs_skip_flow_truth(tmp_path: Path) -> None:
    man: dict[str, Any] = _gen(tmp_path, rows=2_000, items=500, part_rows=1_000, settlement_format="csv",
                               encoding="gb18030", all_pairs_max_rows=1_000)
    df = pd.concat([pd.read_csv(f, dtype=str, encoding="gb18030", keep_default_na=False)
                    for f in sorted((tmp_path / "settlements").glob("part-*.csv"))])
    for col in ("begntime", "endtime"):
        assert df[col].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    assert set(df["psn_type"]) == {"在职", "退休"}
    gt = tmp_path / "ground_truth"
    assert (gt / "surges.csv").exists() and (tmp_path / "institutions.csv").exists()
    assert not (gt / "flow_visits.csv").exists() and not (gt / "flow_items.csv").exists()
    assert man["files"]["flow_visits"] is None


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("flows_big")
    _gen(out, rows=200_000, items=2_000, part_rows=100_000)
    return out


def test_surges_jump(big: Path) -> None:
    surges = pd.read_csv(big / "ground_truth" / "surges.csv", dtype=str)
    assert len(surges) == 3 and (surges["surge_month"] == "2023-07").all()
    assert surges["admdvs"].str[:2].add("0000").isin(R.HUB_PROVINCES).all()
    assert surges["admdvs"].str[:2].nunique() == 3
    assert (surges["fixmedins_code"] == "H" + surges["admdvs"] + "00000").all()
    df = _settlements(big)
    dirty = np.zeros(len(df), dtype=bool)
    for mask in _defects(df, _catalogs(big)).values():
        dirty |= mask.to_numpy()
    c = df[~dirty & _other_province(df).to_numpy()]
    month = c["fee_ocur_time"].dt.strftime("%Y-%m")
    fees = c.groupby([c["fixmedins_code"], month])["det_item_fee_sumamt"].sum()
    before = after = 0.0
    rose = 0
    for code in surges["fixmedins_code"]:
        f_prev, f_surge = fees.get((code, "2023-06"), 0.0), fees.get((code, "2023-07"), 0.0)
        before, after = before + f_prev, after + f_surge
        if f_prev > 0:
            assert f_surge >= 1.2 * f_prev, code
            rose += 1
    assert rose >= 2 and before > 0 and after >= 1.3 * before


def test_settled_retirees_grow(big: Path) -> None:
    v = pd.read_csv(big / "ground_truth" / "flow_visits.csv", dtype=str, keep_default_na=False)
    away = v[v["filing_type"] != ""]
    first = away[away["month"] <= "2023-04"]
    last = away[away["month"] >= "2023-09"]
    assert (last["filing_type"] == "1").mean() > 1.05 * (first["filing_type"] == "1").mean()
    assert 0 < (away["filing_type"] == "9").mean() < 0.01
