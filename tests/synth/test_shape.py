"""Discrepant-item use has the paper's shape: concentrated on hub pairs and heavy-tailed.

Huang et al. 2025 (Zhejiang -> Shanghai, Table 4): of 244 therapeutic discrepant items, the
36 with >= 500 visits (about the mean per item) carry most of the use. Checked on a small
generated case from its own truth files, with properties relative to the case's size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synth import regions as R
from synth.generate import Config, generate

COVERED = {"01", "02", "甲类", "乙类", "甲", "乙"}


def _discrepant_use(out: Path) -> pd.DataFrame:
    """Therapeutic items covered in T and not in P, with P's visits in T (truth files only)."""
    truth = pd.read_csv(out / "ground_truth" / "catalog_truth.csv", dtype=str)
    covered = []
    for f in (out / "catalogs").glob("*.csv"):
        cat = pd.read_csv(f, dtype=str, keep_default_na=False).merge(truth, on=["admdvs", "item_code"])
        cov = cat[cat["chrgitm_lv"].isin(COVERED)]
        covered.append(pd.DataFrame({"region": f.stem, "national_code": cov["true_national_code"]}))
    cov = pd.concat(covered, ignore_index=True).assign(covered=True)
    stats = pd.read_csv(out / "ground_truth" / "expected_item_stats.csv", dtype=str)
    stats["visits"] = stats["visits"].astype(int)
    code = stats["national_code"]
    therapeutic = ~code.str[2].isin(["1", "2"]) | (code.str[2:4] == "24")
    away = stats[therapeutic & (stats["insured_admdvs"] != stats["treatment_admdvs"])]
    in_t = away.merge(cov, left_on=["treatment_admdvs", "national_code"],
                      right_on=["region", "national_code"])
    in_p = in_t.merge(cov, left_on=["insured_admdvs", "national_code"],
                      right_on=["region", "national_code"], how="left", suffixes=("", "_p"))
    cols = ["insured_admdvs", "treatment_admdvs", "national_code", "visits"]
    return in_p.loc[in_p["covered_p"].isna(), cols]


@pytest.fixture(scope="module")
def use(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("shape")
    generate(Config(out=out, rows=200_000, items=2_000, part_rows=100_000), log=False)
    return _discrepant_use(out)


def test_use_concentrates_on_hub_pairs(use: pd.DataFrame) -> None:
    per_pair = use.groupby(["insured_admdvs", "treatment_admdvs"])["visits"].sum()
    to_hub = per_pair[per_pair.index.get_level_values(1).isin(R.HUB_PROVINCES)].sum()
    assert to_hub >= 0.75 * per_pair.sum()  # 0.64 before hubs drew the travellers
    top = per_pair.sort_values(ascending=False).index[:3]
    assert all(t in R.HUB_PROVINCES for _, t in top)
    assert per_pair.max() >= 50 * per_pair.median()


def test_hub_pair_use_is_heavy_tailed(use: pd.DataFrame) -> None:
    """At the paper's top threshold (about the mean visits per item) few items remain, yet
    they keep most visits; a flat law would keep about half the items."""
    per_pair = use.groupby(["insured_admdvs", "treatment_admdvs"])["visits"].sum()
    p, t = per_pair.idxmax()
    visits = use.loc[(use["insured_admdvs"] == p) & (use["treatment_admdvs"] == t), "visits"].to_numpy()
    assert len(visits) >= 60
    top = visits >= np.ceil(visits.mean())
    item_share, visit_share = top.mean(), visits[top].sum() / visits.sum()
    assert item_share <= 0.3
    assert visit_share >= 0.6 and visit_share >= 2.5 * item_share
