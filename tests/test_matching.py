"""Mapping order, codes as evidence, candidate generation and triage of the matcher's core,
plus the Spark UDF against the core. Scores in comments are computed by hand:
fuzz.ratio = 200 * LCS / (len_a + len_b) on normalised keys.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from rapidfuzz import fuzz

from catalogbridge.matching.catalog import map_catalog
from udfs.candidates import CandidateIndex, PairStats, ScoringKeys
from udfs.matching import Execution, MatchParams, NationalLibrary, map_items

LIB = NationalLibrary(
    codes=["003101000010000", "003101000010100", "002501000010000", "003310000010000",
           "003115000010000", "003115000020000", "003402000010000", "003402000010100",
           "002503000010000"],
    names=["心理咨询", "心理咨询(团体)", "血常规检测", "腹腔镜下胆囊切除术",
           "汉密尔顿抑郁量表测评", "汉密尔顿焦虑量表测评", "经颅磁刺激治疗(单次)",
           "经颅磁刺激治疗(多次)", "血清总胆红素检测"],
)
PARAMS = MatchParams(accept_score=92, review_score=70, tie_margin=2, code_name_min_score=80)


def decide(code: str | None, name: str, provided: str | None = None,
           library: NationalLibrary = LIB, params: MatchParams = PARAMS) -> dict[str, object]:
    result = map_items([code], [name], [provided], library, params)
    return result.iloc[0].to_dict()


def test_provided_code_wins_when_the_name_does_not_point_elsewhere() -> None:
    got = decide("X1", "完全不同的名字", provided="002501000010000")
    assert (got["national_code"], got["method"], got["review_status"]) == (
        "002501000010000", "provided", "auto")


def test_provided_code_with_lost_leading_zeros_is_repaired() -> None:
    got = decide("X1", "血常规检测费", provided="2501000010000")
    assert (got["national_code"], got["method"], got["score"]) == (
        "002501000010000", "provided", 100.0)


def test_provided_sibling_code_loses_to_the_name() -> None:
    # The province gave the group variant's code, but the name is exactly the main item.
    got = decide("X1", "心理咨询", provided="003101000010100")
    assert (got["national_code"], got["method"], got["code_conflict"]) == (
        "003101000010000", "name_exact", "003101000010100")


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


def test_renumbered_code_of_a_similar_item_loses_to_a_better_name() -> None:
    # 331501009 is the base of 腰椎椎体成形术; the local item is 颈椎椎体成形术 (ratio 85.7,
    # above code_name_min_score), which the library has under another code.
    lib = NationalLibrary(["003315010090000", "003315010100000"],
                          ["腰椎椎体成形术", "颈椎椎体成形术"])
    got = decide("331501009", "颈椎椎体成形术费", library=lib)
    assert (got["national_code"], got["method"], got["code_conflict"]) == (
        "003315010100000", "name_exact", "003315010090000")


def test_local_code_suffix_points_to_the_latin_qualified_sibling() -> None:
    # 210200031-1 spells 002102000310100; the local name dropped "(1.5T)". Without the code,
    # the plain item wins by 3 points (the Latin-qualifier penalty); with it, the code does.
    lib = NationalLibrary(["002102000310000", "002102000310100", "002102000310200"],
                          ["腰椎磁共振平扫", "腰椎磁共振平扫(1.5T)", "腰椎磁共振平扫(3.0T)"])
    got = decide("210200031-1", "腰椎磁共振平扫", library=lib)
    assert (got["national_code"], got["method"], got["score"]) == (
        "002102000310100", "code", 100.0)
    plain = decide("L7", "腰椎磁共振平扫", library=lib)
    assert (plain["national_code"], plain["method"], plain["runner_up_score"]) == (
        "002102000310000", "name_exact", 97.0)


def test_fuzzy_auto_accept() -> None:
    got = decide("L9", "腹腔镜胆囊切除术")  # ratio 94.1, runner-up far below
    assert (got["national_code"], got["method"], got["review_status"]) == (
        "003310000010000", "fuzzy_auto", "auto")
    assert got["score"] == pytest.approx(94.1176, abs=1e-3)


def test_qualifier_written_in_front_matches_the_bracketed_sibling() -> None:
    # 复杂X vs X: ratio 200*6/14 = 85.7; vs X(复杂): characters all shared, bag 100 - 3 = 97.
    lib = NationalLibrary(["003115000030000", "003115000030100"],
                          ["上颌窦底提升术", "上颌窦底提升术(复杂)"])
    got = decide("A1", "复杂上颌窦底提升术", library=lib)
    assert (got["national_code"], got["method"], got["score"]) == (
        "003115000030100", "fuzzy_auto", 97.0)


def test_between_thresholds_goes_to_review_with_candidates() -> None:
    got = decide("L9", "血清总胆红素测定")  # ratio 87.5 against 血清总胆红素检测 (no synonyms here)
    assert got["national_code"] is None
    assert (got["method"], got["review_status"], got["candidate_code"]) == (
        "unmatched", "needs_review", "002503000010000")
    assert got["candidate_codes"][0] == "002503000010000"
    assert got["candidate_scores"][0] == pytest.approx(87.5)


def test_near_tie_goes_to_review_even_above_accept() -> None:
    got = decide("L9", "经颅磁刺激治疗(次)")  # 95.2 against both siblings
    assert got["score"] == pytest.approx(95.238, abs=1e-3)
    assert got["runner_up_score"] == pytest.approx(95.238, abs=1e-3)
    assert (got["national_code"], got["review_status"]) == (None, "needs_review")
    assert sorted(got["candidate_codes"][:2]) == ["003402000010000", "003402000010100"]


def test_weak_best_is_no_candidate_and_empty_name_too() -> None:
    assert decide("L9", "颅内压监测")["review_status"] == "no_candidate"
    assert decide("L9", "")["review_status"] == "no_candidate"


def test_output_rows_follow_input_order_across_batches() -> None:
    names = ["血常规检测", "颅内压监测", "心理咨询"] * 3
    got = map_items(list("ABCDEFGHI"), names, [None] * 9, LIB, MatchParams(batch_size=2))
    assert got["national_code"].tolist() == ["002501000010000", None, "003101000010000"] * 3


def test_prefix_filter_keeps_every_pair_that_can_reach_the_score() -> None:
    rng = np.random.default_rng(5)
    alphabet = list("检测定血清总胆红素心理咨询团体术切除腹腔镜")
    lib_names = ["".join(rng.choice(alphabet, size=rng.integers(3, 12))) for _ in range(300)]
    queries = ["".join(rng.choice(alphabet, size=rng.integers(3, 12))) for _ in range(60)]
    keys, qkeys = ScoringKeys(lib_names), ScoringKeys(queries)
    for min_score in (50.0, 70.0, 90.0):
        index = CandidateIndex(keys, min_score)
        rows, items = index.pairs(qkeys.probe, np.arange(len(queries)), PairStats())
        found = set(zip(rows.tolist(), items.tolist(), strict=True))
        wanted = {(q, i) for q in range(len(queries)) for i in range(len(lib_names))
                  if fuzz.ratio(qkeys.probe[q], keys.probe[i]) >= min_score}
        assert wanted <= found, f"pairs lost at {min_score}"
        assert len(found) < len(queries) * len(lib_names)


def test_weak_block_falls_back_to_the_whole_library() -> None:
    # The local code says section 310100 (心理咨询); the name is a lab test elsewhere.
    stats = PairStats()
    got = map_items(["310100009"], ["血清总胆红素检测费用"], [None], LIB, PARAMS, stats)
    assert got.loc[0, "national_code"] == "002503000010000"
    assert (stats.block_queries, stats.fallback_queries) == (0, 0)  # exact: no search needed
    got = map_items(["310100009"], ["血清总胆红素检"], [None], LIB, PARAMS, stats)
    assert got.loc[0, "candidate_code"] == "002503000010000"
    assert (stats.block_queries, stats.fallback_queries) == (1, 1)


def test_blocking_and_prefilter_do_not_change_decisions() -> None:
    names = ["腹腔镜胆囊切除术", "经颅磁刺激治疗(次)", "心理咨询团", "血清总胆红素", "汉密尔顿焦虑量表"]
    codes = ["331000001", "340200001", "X", "Y", "311500002"]
    fast = map_items(codes, names, [None] * 5, LIB, PARAMS)
    slow = map_items(codes, names, [None] * 5, LIB, MatchParams(blocking=False, prefilter_score=0.0),
                     execution=Execution(prefilter=False))
    cols = ["national_code", "method", "review_status", "candidate_code"]
    pd.testing.assert_frame_equal(fast[cols], slow[cols])


def test_spark_udf_matches_the_pure_core(spark: SparkSession) -> None:
    rows = [("310000", "A", "血常规检测", None), ("310000", "B", "腹腔镜胆囊切除术", None),
            ("330000", "C", "经颅磁刺激治疗(次)", None), ("330000", "D", "心理咨询（团体）",
                                                            "003101000010100")]
    catalog = spark.createDataFrame(
        [(*r[:3], "01", True, r[3], "01", r[0]) for r in rows],
        "catalog_region string, local_code string, local_name string, chrgitm_lv string, "
        "covered boolean, provided_code string, chrgitm_lv_raw string, catalog_admdvs string")
    got = (map_catalog(catalog, spark=spark, library=LIB, params=PARAMS, run_id="r1")
           .select("local_code", "national_code", "method", "review_status", "candidate_codes",
                   "run_id"))
    pure = map_items([r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows], LIB, PARAMS)
    expected = spark.createDataFrame(
        [(r[1], pure.loc[k, "national_code"], pure.loc[k, "method"],
          pure.loc[k, "review_status"], list(pure.loc[k, "candidate_codes"]), "r1")
         for k, r in enumerate(rows)],
        "local_code string, national_code string, method string, review_status string, "
        "candidate_codes array<string>, run_id string")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
    assert pure["method"].tolist() == ["name_exact", "fuzzy_auto", "unmatched", "provided"]
