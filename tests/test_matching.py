"""Mapping order and triage of the matcher's pure core, plus one Spark run of the UDF."""

from __future__ import annotations

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from catalogbridge.mapping import map_catalog
from udfs.matching import MatchParams, NationalLibrary, map_items
from udfs.normalize import normalize_name

LIB = NationalLibrary(
    codes=["003101000010000", "003101000010100", "002501000010000", "003310000010000",
           "003115000010000", "003115000020000", "003402000010000", "003402000010100",
           "002503000010000"],
    names=["心理咨询", "心理咨询(团体)", "血常规检测", "腹腔镜下胆囊切除术",
           "汉密尔顿抑郁量表测评", "汉密尔顿焦虑量表测评", "经颅磁刺激治疗(单次)",
           "经颅磁刺激治疗(多次)", "血清总胆红素检测"],
)
PARAMS = MatchParams(accept_score=92, review_score=70, tie_margin=2, code_name_min_score=80)


def decide(code: str, name: str, provided: str | None = None) -> dict[str, object]:
    result = map_items([code], [name], [provided], LIB, PARAMS)
    return result.iloc[0].to_dict()


@pytest.mark.parametrize(("raw", "normalized"), [
    ("诊查费（营养状况评估）", "诊查(营养状况评估)"),
    ("CT 检查【平扫】费", "ct检查(平扫)"),
    ("Ｂ超-常规 检查", "b超常规检查"),
    ("血常规检测费用", "血常规检测"),
    ("心电图[十二导联]", "心电图(十二导联)"),
    ("", ""),
    (None, ""),
])
def test_normalize_name(raw: str | None, normalized: str) -> None:
    assert normalize_name(raw) == normalized


def test_provided_code_wins_when_it_exists() -> None:
    got = decide("X1", "完全不同的名字", provided="002501000010000")
    assert (got["national_code"], got["method"], got["review_status"]) == (
        "002501000010000", "provided", "auto")


def test_unknown_provided_code_is_ignored() -> None:
    got = decide("X1", "血常规检测", provided="009999999999999")
    assert (got["national_code"], got["method"]) == ("002501000010000", "name_exact")


def test_base_code_match_needs_agreeing_names_and_picks_the_best_sub_item() -> None:
    got = decide("310100001", "心理咨询（团体）")
    assert (got["national_code"], got["method"]) == ("003101000010100", "code")


def test_full_code_match() -> None:
    got = decide("002501000010000", "血常规检测费")
    assert (got["national_code"], got["method"]) == ("002501000010000", "code")


def test_code_collision_with_another_item_is_not_a_match() -> None:
    # A renumbered local code equal to the base code of 心理咨询; the item is something else.
    got = decide("310100001", "血常规检测")
    assert (got["national_code"], got["method"]) == ("002501000010000", "name_exact")
    assert got["code_conflict"] == "003101000010000"


def test_fuzzy_auto_accept() -> None:
    got = decide("L9", "腹腔镜胆囊切除术")  # ratio 94.1, runner-up far below
    assert (got["national_code"], got["method"], got["review_status"]) == (
        "003310000010000", "fuzzy_auto", "auto")
    assert got["score"] == pytest.approx(94.117, abs=0.01)


def test_between_thresholds_goes_to_review_with_candidate() -> None:
    got = decide("L9", "血清总胆红素测定")  # ratio 87.5 against 血清总胆红素检测
    assert got["national_code"] is None
    assert (got["method"], got["review_status"], got["candidate_code"]) == (
        "unmatched", "needs_review", "002503000010000")


def test_near_tie_goes_to_review_even_above_accept() -> None:
    got = decide("L9", "经颅磁刺激治疗(次)")  # 95.2 against both siblings
    assert got["score"] == pytest.approx(95.24, abs=0.01)
    assert got["runner_up_score"] == pytest.approx(95.24, abs=0.01)
    assert (got["national_code"], got["review_status"]) == (None, "needs_review")


def test_weak_best_is_no_candidate_and_empty_name_too() -> None:
    assert decide("L9", "颅内压监测")["review_status"] == "no_candidate"
    assert decide("L9", "")["review_status"] == "no_candidate"


def test_output_rows_follow_input_order() -> None:
    got = map_items(["A", "B", "C"], ["血常规检测", "颅内压监测", "心理咨询"], [None] * 3, LIB, PARAMS)
    assert got["national_code"].tolist() == ["002501000010000", None, "003101000010000"]


def test_spark_udf_matches_the_pure_core(spark: SparkSession) -> None:
    rows = [("310000", "A", "血常规检测", None), ("310000", "B", "腹腔镜胆囊切除术", None),
            ("330000", "C", "经颅磁刺激治疗(次)", None), ("330000", "D", "心理咨询", "003101000010100")]
    catalog = spark.createDataFrame(
        [(*r[:3], "01", True, r[3], "01", r[0]) for r in rows],
        "catalog_region string, local_code string, local_name string, chrgitm_lv string, "
        "covered boolean, provided_code string, chrgitm_lv_raw string, catalog_admdvs string")
    got = (map_catalog(catalog, spark=spark, library=LIB, params=PARAMS, run_id="r1")
           .select("local_code", "national_code", "method", "run_id").orderBy("local_code")
           .toPandas())
    pure = map_items([r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows], LIB, PARAMS)
    expected = pd.DataFrame({"local_code": ["A", "B", "C", "D"],
                             "national_code": pure["national_code"], "method": pure["method"],
                             "run_id": "r1"})
    pd.testing.assert_frame_equal(got, expected)
    assert got["method"].tolist() == ["name_exact", "fuzzy_auto", "unmatched", "provided"]
