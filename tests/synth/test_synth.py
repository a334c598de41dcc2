"""The synthetic dataset keeps its promises: layout, exact dirty counts, clean ground truth."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from synth import regions as R
from synth.generate import Config, generate

ROOT = Path(__file__).resolve().parents[2]
CLASS2 = {
    "11",
    "12",
    "21",
    "22",
    "23",
    "24",
    "25",
    "26",
    "27",
    "31",
    "32",
    "33",
    "34",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "47",
}
LEVELS = {"01", "02", "03", "甲类", "乙类", "丙类", "甲", "乙", "丙", "自费"}
START, END = dt.date(2023, 1, 1), dt.date(2023, 12, 31)


def _gen(out: Path, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"rows": 20_000, "items": 1_500, "part_rows": 6_000, **kw}
    return generate(Config(out=out, **args), log=False)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("synth")
    return out, _gen(out, dirty_rate=0.05)


def _settlements(out: Path) -> pd.DataFrame:
    files = sorted((out / "settlements").glob("part-*.parquet"))
    return pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)


def _catalogs(out: Path) -> dict[str, pd.DataFrame]:
    return {
        f.stem: pd.read_csv(f, dtype=str, keep_default_na=False)
        for f in sorted((out / "catalogs").glob("*.csv"))
    }


def _missing(s: pd.Series) -> pd.Series:
    """Missing text as exports carry it: null, '' or whitespace only (U+3000 included)."""
    return s.isna() | (s.fillna("x").str.strip() == "")


def _defects(df: pd.DataFrame, cats: dict[str, pd.DataFrame]) -> dict[str, pd.Series]:
    """Detect every defect kind from the data alone."""
    valid = {c: df[c].fillna("").str.fullmatch(r"\d{6}") for c in ("insuplc_admdvs", "mdtrtarea_admvs")}
    known_cities = set(R.city_table().codes)
    known = {c: df[c].isin(known_cities) for c in valid}
    t = df["fee_ocur_time"]
    start, end = pd.Timestamp(START), pd.Timestamp(END) + pd.Timedelta(days=1)
    ok_region = known["insuplc_admdvs"] & known["mdtrtarea_admvs"]
    prov = df["mdtrtarea_admvs"].str[:2] + "0000"
    in_cat = np.zeros(len(df), dtype=bool)
    for code, cat in cats.items():
        rows = (prov == code).to_numpy()
        in_cat[rows] = df.loc[rows, "medins_list_codg"].isin(set(cat["item_code"])).to_numpy()
    return {
        "missing_item_code": _missing(df["medins_list_codg"]),
        "missing_item_name": _missing(df["medins_list_name"]),
        "zero_fee": df["det_item_fee_sumamt"] == 0,
        "negative_fee": df["det_item_fee_sumamt"] < 0,
        "duplicate_feedetl_sn": df["feedetl_sn"].duplicated(keep="first"),
        "out_of_period": (t < start) | (t >= end),
        "unknown_region": (valid["insuplc_admdvs"] & valid["mdtrtarea_admvs"]) & ~ok_region,
        "malformed_region": ~(valid["insuplc_admdvs"] & valid["mdtrtarea_admvs"]),
        "item_not_in_catalog": ok_region
        & ~_missing(df["medins_list_codg"])
        & ~pd.Series(in_cat, index=df.index),
    }


def test_layout_and_headers(data: tuple[Path, dict[str, Any]]) -> None:
    out, _ = data
    assert pd.read_csv(out / "national_items.csv", nrows=0).columns.tolist() == [
        "item_code",
        "item_name",
        "item_desc",
        "unit",
    ]
    cats = sorted(p.stem for p in (out / "catalogs").glob("*.csv"))
    assert cats == sorted(R.PROVINCE_CODES)
    assert pd.read_csv(out / "catalogs" / "330000.csv", nrows=0).columns.tolist() == [
        "admdvs",
        "item_code",
        "item_name",
        "chrgitm_lv",
        "national_code",
        "unit",
        "price",
    ]
    assert pd.read_csv(out / "ground_truth" / "catalog_truth.csv", nrows=0).columns.tolist() == [
        "admdvs",
        "item_code",
        "item_name",
        "true_national_code",
    ]
    assert pd.read_csv(out / "ground_truth" / "expected_item_stats.csv", nrows=0).columns.tolist() == [
        "insured_admdvs",
        "treatment_admdvs",
        "national_code",
        "visits",
        "fee",
    ]
    schema = pq.read_schema(out / "settlements" / "part-00000.parquet")
    types = {f.name: str(f.type) for f in schema}
    assert list(types) == [
        "feedetl_sn",
        "setl_id",
        "mdtrt_id",
        "psn_no",
        "insuplc_admdvs",
        "mdtrtarea_admvs",
        "med_type",
        "medins_list_codg",
        "medins_list_name",
        "det_item_fee_sumamt",
        "fee_ocur_time",
        "cnt",
        "pric",
        "fixmedins_code",
        "gend",
        "age",
        "med_list_codg",
        "filing_type",
        "psn_type",
        "hosp_lv",
        "fund_pay_sumamt",
        "begntime",
        "endtime",
    ]
    assert types["det_item_fee_sumamt"] == "double" and types["age"] == "int32"
    assert types["fee_ocur_time"].startswith("timestamp")
    assert all(types[c] == "string" for c in ("feedetl_sn", "medins_list_codg", "gend"))


def test_manifest_counts_match_data(data: tuple[Path, dict[str, Any]]) -> None:
    out, man = data
    df = _settlements(out)
    rows = man["rows"]
    assert isinstance(rows, dict)
    assert len(df) == rows["total"] == 20_000
    parts = man["files"]["settlements"]
    assert sum(p["rows"] for p in parts) == len(df) and len(parts) == 4
    found = _defects(df, _catalogs(out))
    expected = man["dirty_rows"]
    assert isinstance(expected, dict)
    for kind, mask in found.items():
        assert int(mask.sum()) == expected[kind], kind
        assert expected[kind] > 0, kind
    hits = np.sum([m.to_numpy(dtype=int) for m in found.values()], axis=0)
    assert int((hits > 1).sum()) == 0  # exactly one defect per dirty row
    assert int((hits == 0).sum()) == rows["clean"]
    dup = df[found["duplicate_feedetl_sn"]]
    orig = df.drop_duplicates("feedetl_sn").set_index("feedetl_sn").loc[dup["feedetl_sn"]]
    assert (orig.reset_index()[df.columns].values == dup[df.columns].values).all()


def test_visits_persons_and_values(data: tuple[Path, dict[str, Any]]) -> None:
    out, _ = data
    df = _settlements(out)
    assert df["mdtrt_id"].nunique() == df["setl_id"].nunique()
    per_psn = df.groupby("psn_no")[["gend", "age"]].nunique()
    assert (per_psn <= 1).all().all()
    assert set(df["gend"]) <= {"1", "2"} and set(df["med_type"]) <= {"11", "14", "21"}
    lines = df.groupby("mdtrt_id").size()
    assert lines.max() <= 70
    regions = df[
        df["insuplc_admdvs"].isin(R.city_table().codes) & df["mdtrtarea_admvs"].isin(R.city_table().codes)
    ]
    assert (
        (
            regions.groupby("mdtrt_id")[
                ["insuplc_admdvs", "mdtrtarea_admvs", "psn_no", "fixmedins_code", "med_type"]
            ].nunique()
            == 1
        )
        .all()
        .all()
    )
    same = df.duplicated(["mdtrt_id", "medins_list_codg"], keep=False) & ~df["feedetl_sn"].duplicated(
        keep=False
    )
    assert same.any()  # an item billed on several lines of one visit
    cross = df["insuplc_admdvs"].str[:2] != df["mdtrtarea_admvs"].str[:2]
    assert 0.005 < cross.mean() < 0.2
    assert df["med_list_codg"].notna().any() and df["med_list_codg"].isna().any()


def test_catalogs_and_truth(data: tuple[Path, dict[str, Any]]) -> None:
    out, man = data
    nat = pd.read_csv(out / "national_items.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(out / "ground_truth" / "catalog_truth.csv", dtype=str)
    cats = _catalogs(out)
    sizes = man["catalogs"]["sizes"]
    assert set(truth["true_national_code"]) <= set(nat["item_code"])
    empty_natcode = 0
    for code, cat in cats.items():
        assert (cat["admdvs"] == code).all() and len(cat) == sizes[code]
        assert 0.25 * len(nat) <= len(cat) <= 0.95 * len(nat)
        assert not cat["item_code"].duplicated().any()
        assert set(cat["chrgitm_lv"]) <= LEVELS
        t = truth[truth["admdvs"] == code]
        assert len(t) == len(cat) and not t["true_national_code"].duplicated().any()
        assert set(t["item_code"]) == set(cat["item_code"])
        empty_natcode += int((cat["national_code"] == "").all())
    assert empty_natcode >= 2  # some provinces do not carry national codes
    assert {"甲类", "丙"} & set(pd.concat(cats.values())["chrgitm_lv"])


def test_national_code_format(data: tuple[Path, dict[str, Any]]) -> None:
    out, _ = data
    nat = pd.read_csv(out / "national_items.csv", dtype=str, keep_default_na=False)
    assert len(nat) == 1_500
    assert nat["item_code"].str.fullmatch(r"00[1-4]\d{12}").all()
    assert set(nat["item_code"].str[2:4]) == CLASS2
    assert nat["item_code"].str[2].isin(list("1234")).all()
    assert not nat["item_code"].duplicated().any() and not nat["item_name"].duplicated().any()
    sub = nat["item_code"].str[11:]
    assert (sub == "0000").any() and sub.str.fullmatch(r"\d\d00").any()
    assert sub.str.fullmatch(r"000[1-9]").any()
    assert nat["item_name"].str.contains("加收").any()


def test_expected_stats_recomputed(data: tuple[Path, dict[str, Any]]) -> None:
    out, _ = data
    df = _settlements(out)
    cats = _catalogs(out)
    found = _defects(df, cats)
    dirty = np.zeros(len(df), dtype=bool)
    for mask in found.values():
        dirty |= mask.to_numpy()
    clean = df[~dirty].copy()
    truth = pd.read_csv(out / "ground_truth" / "catalog_truth.csv", dtype=str)
    clean["treatment_admdvs"] = clean["mdtrtarea_admvs"].str[:2] + "0000"
    clean["insured_admdvs"] = clean["insuplc_admdvs"].str[:2] + "0000"
    m = clean.merge(
        truth,
        left_on=["treatment_admdvs", "medins_list_codg"],
        right_on=["admdvs", "item_code"],
        how="left",
        validate="many_to_one",
    )
    assert m["true_national_code"].notna().all()
    got = (
        m.groupby(["insured_admdvs", "treatment_admdvs", "true_national_code"])
        .agg(visits=("mdtrt_id", "nunique"), fee=("det_item_fee_sumamt", "sum"))
        .reset_index()
        .rename(columns={"true_national_code": "national_code"})
    )
    exp = pd.read_csv(
        out / "ground_truth" / "expected_item_stats.csv",
        dtype={"insured_admdvs": str, "treatment_admdvs": str, "national_code": str},
    )
    keys = ["insured_admdvs", "treatment_admdvs", "national_code"]
    both = exp.merge(got, on=keys, how="outer", suffixes=("_exp", "_got"), indicator=True)
    assert (both["_merge"] == "both").all()
    assert (both["visits_exp"] == both["visits_got"]).all()
    assert np.allclose(both["fee_exp"], both["fee_got"].round(2), atol=0.006)
    assert exp["visits"].max() > 50 and (exp["insured_admdvs"] != exp["treatment_admdvs"]).any()


def test_discrepant_items(data: tuple[Path, dict[str, Any]]) -> None:
    """Items covered in T but not in P exist for the paper's pair, and recompute from files."""
    out, man = data
    cats = _catalogs(out)
    truth = pd.read_csv(out / "ground_truth" / "catalog_truth.csv", dtype=str)
    covered = {}
    for code in ("330000", "310000"):
        t = cats[code].merge(truth, on=["admdvs", "item_code"])
        covered[code] = set(t.loc[t["chrgitm_lv"].isin(["01", "02", "甲类", "乙类", "甲", "乙"]),
                                  "true_national_code"])
    n = len(covered["310000"] - covered["330000"])
    assert n > 0
    assert man["truth"]["discrepant_items"]["330000:310000"] == n


def _hashes(out: Path) -> dict[str, str]:
    files = [p for p in out.rglob("*") if p.is_file() and p.name != "manifest.json"]
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_deterministic(tmp_path: Path) -> None:
    kw: dict[str, Any] = {"rows": 3_000, "items": 600, "part_rows": 1_000}
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    ma, mb = _gen(a, **kw), _gen(b, **kw)
    _gen(c, seed=7, **kw)
    assert _hashes(a) == _hashes(b)
    ma.pop("timing")
    mb.pop("timing")
    assert json.dumps(ma, ensure_ascii=False).replace(str(a), "") == json.dumps(
        mb, ensure_ascii=False
    ).replace(str(b), "")
    ha, hc = _hashes(a), _hashes(c)
    assert all(ha[k] != hc[k] for k in ha if k.startswith("settlements"))


def test_csv_gb18030(tmp_path: Path) -> None:
    man = _gen(
        tmp_path,
        rows=2_000,
        items=500,
        part_rows=800,
        settlement_format="csv",
        encoding="gb18030",
        truth_pairs="330000:310000",
    )
    files = sorted((tmp_path / "settlements").glob("part-*.csv"))
    assert len(files) == 3
    df = pd.concat([pd.read_csv(f, dtype=str, encoding="gb18030", keep_default_na=False) for f in files])
    assert len(df) == 2_000
    assert df["fee_ocur_time"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    cat = pd.read_csv(tmp_path / "catalogs" / "110000.csv", dtype=str, encoding="gb18030")
    assert cat["item_name"].str.contains(r"[\u4e00-\u9fff]").all()
    exp = pd.read_csv(tmp_path / "ground_truth" / "expected_item_stats.csv", dtype=str)
    assert set(zip(exp["insured_admdvs"], exp["treatment_admdvs"], strict=True)) <= {
        ("330000", "310000"),
        ("330000", "330000"),
    }
    assert man["truth"]["pairs_mode"] == "listed"


def test_seed_library(tmp_path: Path) -> None:
    seed = tmp_path / "seed.tsv"
    seed.write_text(
        "nhsa_code\tname\n001102000010000\t普通门诊诊查费X\n003316010050000\t乳腺癌根治术X\nbad\tignored\n",
        encoding="utf-8",
    )
    _gen(tmp_path / "o", rows=1_000, items=400, part_rows=1_000, seed_library=seed)
    nat = pd.read_csv(tmp_path / "o" / "national_items.csv", dtype=str)
    got = dict(zip(nat["item_code"], nat["item_name"], strict=True))
    assert got["001102000010000"] == "普通门诊诊查费X"
    assert got["003316010050000"] == "乳腺癌根治术X"


def test_cli_help() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "synth", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--rows" in res.stdout and "--truth-pairs" in res.stdout
    assert re.search(r"--settlement-format \{parquet,csv\}", res.stdout)


def test_generator_provinces_match_the_report_labels() -> None:
    from catalogbridge.labels import PROVINCE_NAMES
    from synth.regions import PROVINCES

    assert {p.code: p.short for p in PROVINCES} == PROVINCE_NAMES
