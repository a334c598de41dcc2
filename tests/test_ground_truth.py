"""The whole pipeline on a small generated national case, checked against its ground truth.

Item statistics are exact wherever the mapping is right: for every national code whose local
item in the billing catalog was mapped to it (and no other local item was mapped to it by
mistake), the pipeline's visits and fees equal the generator's expected figures to the fen.
"""

from __future__ import annotations

import json

import pandas as pd
from pyspark.sql import SparkSession

from tests.conftest import Case


def _table(spark: SparkSession, case: Case, name: str) -> pd.DataFrame:
    return case.table(spark, name).toPandas()


def test_quarantine_matches_the_manifest(spark: SparkSession, national_case: Case) -> None:
    manifest = json.loads((national_case.root / "data" / "manifest.json").read_text(encoding="utf-8"))
    dirty = manifest["dirty_rows"]
    quarantine = _table(spark, national_case, "settlements_quarantine")
    got = quarantine["reason"].value_counts().to_dict()
    assert got == {k: v for k, v in {
        "fee_not_positive": dirty["zero_fee"] + dirty["negative_fee"],
        "duplicate_feedetl_sn": dirty["duplicate_feedetl_sn"],
        "missing_item_code": dirty["missing_item_code"],
        "missing_item_name": dirty["missing_item_name"],
        "invalid_region": dirty["malformed_region"], "unknown_region": dirty["unknown_region"],
        "out_of_period": dirty["out_of_period"], "item_not_in_catalog": dirty["item_not_in_catalog"],
    }.items() if v}
    assert len(quarantine) == manifest["rows"]["dirty"]


def test_item_stats_equal_ground_truth_where_mapping_is_right(
        spark: SparkSession, national_case: Case) -> None:
    truth = pd.read_csv(national_case.root / "data" / "ground_truth" / "catalog_truth.csv", dtype=str)
    mapping = _table(spark, national_case, "catalog_mapping")
    joined = mapping.merge(truth, left_on=["catalog_admdvs", "local_code"],
                           right_on=["admdvs", "item_code"], validate="one_to_one")
    mapped = joined[joined["national_code"].notna()]
    precision = (mapped["national_code"] == mapped["true_national_code"]).mean()
    recall = (joined["national_code"] == joined["true_national_code"]).mean()
    print(f"mapping on the generated case: precision {precision:.4f}, recall {recall:.4f}")
    assert precision >= 0.995
    assert recall >= 0.99

    wrong = mapped[mapped["national_code"] != mapped["true_national_code"]]
    right = joined[joined["national_code"] == joined["true_national_code"]]
    # A code is exact in region R when its own item was mapped to it and no other item was.
    exact_codes = (set(zip(right["catalog_region"], right["national_code"], strict=True))
                   - set(zip(wrong["catalog_region"], wrong["national_code"], strict=True)))
    expected = pd.read_csv(national_case.root / "data" / "ground_truth" / "expected_item_stats.csv",
                           dtype={"insured_admdvs": str, "treatment_admdvs": str,
                                  "national_code": str})
    exact = expected[[(t, c) in exact_codes for t, c in
                      zip(expected["treatment_admdvs"], expected["national_code"], strict=True)]]
    print(f"{len(exact)} of {len(expected)} expected item rows have an exactly mapped code")
    assert len(exact) >= 0.9 * len(expected)
    stats = _table(spark, national_case, "item_stats")
    got = exact.merge(stats, on=["insured_admdvs", "treatment_admdvs", "national_code"],
                      how="left", suffixes=("", "_got"))
    assert got["visits_got"].notna().all(), "every expected item is counted"
    assert (got["visits_got"] == got["visits"]).all()
    assert (got["fee_got"].astype(float).round(2) == got["fee"].round(2)).all()
