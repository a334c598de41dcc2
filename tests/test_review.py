"""The review loop: decisions read and applied by key, the queue ordered by money at stake."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from catalogbridge.matching.review import (
    DecisionError,
    apply_decisions,
    decision_date,
    read_decisions,
    review_queue,
)
from catalogbridge.pipeline.cli import run_main
from udfs.normalize import load_normalizer

NORM = load_normalizer(Path(__file__).resolve().parents[1] / "conf" / "synonyms.yaml")
N1, N2, N3, N4 = "002503000010000", "002503000020000", "003101000010000", "003101000010100"
NATIONAL = [(N1, "血清总胆红素测定"), (N2, "血清直接胆红素测定"), (N3, "心理咨询"),
            (N4, "心理咨询(团体)")]
MAPPING_SCHEMA = ("catalog_region string, catalog_admdvs string, local_code string, "
                  "local_name string, chrgitm_lv string, match_key string, national_code string, "
                  "national_name string, method string, score double, review_status string, "
                  "code_conflict string, candidate_codes array<string>, "
                  "candidate_scores array<double>, run_id string")


def _national(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(NATIONAL, "national_code string, national_name string")


def _mapping(spark: SparkSession) -> DataFrame:
    rows = [  # region, code, name, key, code, name, method, score, status, candidates
        ("310000", "A", "胆红素检测", "胆红素测定", None, None, "unmatched", 80.0, "needs_review",
         [N1, N2], [80.0, 72.7]),
        ("310000", "B", "心理咨询", "心理咨询", N3, "心理咨询", "name_exact", 100.0, "auto",
         [N3], [100.0]),
        ("310000", "C", "院内会诊", "院内会诊", None, None, "unmatched", 40.0, "no_candidate",
         [N3], [40.0]),
        ("330000", "D", "团体心理", "团体心理", None, None, "unmatched", 75.0, "needs_review",
         [N4, N3], [75.0, 50.0]),
        ("330000", "E", "直接胆红素", "直接胆红素", None, None, "unmatched", 76.9, "needs_review",
         [N2, N1], [76.9, 70.0]),
    ]
    return spark.createDataFrame(
        [(r[0], r[0], r[1], r[2], "01", r[3], r[4], r[5], r[6], r[7], r[8], None, r[9], r[10],
          "run1") for r in rows], MAPPING_SCHEMA)


def _write_decisions(path: Path) -> Path:
    path.write_text(
        "\ufeffcatalog_region,local_code,local_name,action,candidate,code,reviewer,decided_on\n"
        "310000,A,胆红素测定（急诊）费,accept,1,,王芳,2024-03-01\n"   # respelled: same key? no
        "310000,A,胆红素检测费,accept,2,,王芳,2024-03-01\n"           # respelled: same key
        "310000,A,胆红素检测,accept,1,,李雷,2024-03-05\n"             # later decision wins
        "310000,B,心理咨询,set_code,," + N4 + ",王芳,2024-03-02\n"
        "310000,C,院内会诊,unmappable,,,王芳,2024-03-02\n"
        "330000,D,团体心理,set_code,,009999999999999,王芳,2024-03-02\n"  # code not in library
        "330000,E,直接胆红素,,,,,\n", encoding="utf-8")                    # not decided yet
    return path


def test_read_decisions_keys_by_normalised_name_and_keeps_the_latest(tmp_path: Path) -> None:
    got = read_decisions(_write_decisions(tmp_path / "d.csv"), NORM)
    assert got[["catalog_region", "local_code", "match_key", "decision_action",
                "decision_candidate", "decision_code_given", "decided_by"]].values.tolist() == [
        ["310000", "A", "胆红素测定(急诊)", "accept", 1, None, "王芳"],
        ["310000", "B", "心理咨询", "set_code", None, N4, "王芳"],
        ["310000", "C", "院内会诊", "unmappable", None, None, "王芳"],
        ["330000", "D", "团体心理", "set_code", None, "009999999999999", "王芳"],
        ["310000", "A", "胆红素测定", "accept", 1, None, "李雷"],
    ]


def test_yaml_decisions_and_clear_errors(tmp_path: Path) -> None:
    good = tmp_path / "d.yaml"
    good.write_text("- {catalog_region: '310000', local_code: A, local_name: 胆红素检测,\n"
                    "   action: accept, candidate: 2, reviewer: 王芳, decided_on: 2024-03-01}\n",
                    encoding="utf-8")
    got = read_decisions(good, NORM)
    assert got[["match_key", "decision_candidate", "decided_on"]].values.tolist() == [
        ["胆红素测定", 2, "2024-03-01"]]
    bad = tmp_path / "bad.csv"
    bad.write_text("catalog_region,local_code,local_name,action\n310000,A,x,approve\n",
                   encoding="utf-8")
    with pytest.raises(DecisionError, match="row 2: action 'approve'"):
        read_decisions(bad, NORM)
    bad.write_text("catalog_region,local_code,local_name,action\n310000,A,x,set_code\n",
                   encoding="utf-8")
    with pytest.raises(DecisionError, match="needs the national code"):
        read_decisions(bad, NORM)


@pytest.mark.parametrize(("written", "iso"), [
    ("2024-03-09", "2024-03-09"), ("2024/3/9", "2024-03-09"), ("2024.3.9", "2024-03-09"),
    ("20240309", "2024-03-09"), ("2024/3/9 14:05", "2024-03-09"), ("45360", "2024-03-09"),
    ("45360.0", "2024-03-09"), (45362, "2024-03-11"), ("", None), (None, None),
])
def test_decision_dates_in_the_forms_excel_writes(written: object, iso: str | None) -> None:
    assert decision_date(written, "d.csv row 2") == iso


def test_latest_decision_wins_across_date_spellings(tmp_path: Path) -> None:
    """As text, 2024/3/9 sorts after 2024-03-10; as dates, the 10th is the later decision."""
    path = tmp_path / "d.csv"
    path.write_text("catalog_region,local_code,local_name,action,candidate,reviewer,decided_on\n"
                    "310000,A,胆红素检测,accept,2,王芳,2024-03-10\n"
                    "310000,A,胆红素检测,accept,1,李雷,2024/3/9\n"
                    "330000,E,直接胆红素,accept,1,李雷,45360\n"
                    "330000,E,直接胆红素,accept,2,王芳,2024/3/8\n", encoding="utf-8")
    got = read_decisions(path, NORM).sort_values("local_code")
    assert got[["local_code", "decision_candidate", "decided_by", "decided_on"]].values.tolist() == [
        ["A", 2, "王芳", "2024-03-10"], ["E", 1, "李雷", "2024-03-09"]]
    path.write_text("catalog_region,local_code,local_name,action,candidate,decided_on\n"
                    "310000,A,胆红素检测,accept,2,next week\n", encoding="utf-8")
    with pytest.raises(DecisionError, match="row 2: decided_on 'next week' is not a date"):
        read_decisions(path, NORM)


def test_apply_decisions(spark: SparkSession, tmp_path: Path) -> None:
    decisions = read_decisions(_write_decisions(tmp_path / "d.csv"), NORM)
    got = apply_decisions(_mapping(spark), decisions, _national(spark), spark).select(
        "local_code", "national_code", "national_name", "method", "review_status",
        "decision_action", "decision_code", "decided_by", "decided_on")
    expected = spark.createDataFrame([
        ("A", N1, "血清总胆红素测定", "manual", "reviewed", "accept", N1, "李雷", "2024-03-05"),
        ("B", N4, "心理咨询(团体)", "manual", "reviewed", "set_code", N4, "王芳", "2024-03-02"),
        ("C", None, None, "manual", "unmappable", "unmappable", None, "王芳", "2024-03-02"),
        ("D", None, None, "unmatched", "decision_stale", "set_code", "009999999999999", "王芳",
         "2024-03-02"),
        ("E", None, None, "unmatched", "needs_review", None, None, None, None),
    ], "local_code string, national_code string, national_name string, method string, "
       "review_status string, decision_action string, decision_code string, decided_by string, "
       "decided_on string")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_queue_orders_by_money_and_shows_candidates_side_by_side(spark: SparkSession,
                                                                 tmp_path: Path) -> None:
    decisions = read_decisions(_write_decisions(tmp_path / "d.csv"), NORM)
    mapping = apply_decisions(_mapping(spark), decisions, _national(spark), spark)
    clean = spark.createDataFrame([  # region, local code, visit, fee, source
        ("330000", "E", "v1", Decimal("30.00"), "unmapped"),
        ("330000", "E", "v1", Decimal("20.00"), "unmapped"),   # same visit: 1 visit, 2 lines
        ("330000", "E", "v2", Decimal("10.00"), "unmapped"),
        ("330000", "D", "v3", Decimal("100.00"), "unmapped"),
        ("310000", "B", "v4", Decimal("999.00"), "catalog"),   # mapped: not at stake
    ], "billing_catalog_region string, medins_list_codg string, mdtrt_id string, "
       "det_item_fee_sumamt decimal(22,2), mapping_source string")
    got = review_queue(mapping, clean, _national(spark)).select(
        "queue_rank", "local_code", "review_status", "fee_at_stake", "visits_at_stake",
        "lines_at_stake", "candidate_1_code", "candidate_1_name", "candidate_1_score",
        "candidate_2_name", "candidate_3_code", "stale_decision_code", "action")
    expected = spark.createDataFrame([
        (1, "D", "decision_stale", Decimal("100.00"), 1, 1, N4, "心理咨询(团体)", 75.0, "心理咨询",
         None, "009999999999999", None),
        (2, "E", "needs_review", Decimal("60.00"), 2, 3, N2, "血清直接胆红素测定", 76.9,
         "血清总胆红素测定", None, None, None),
    ], "queue_rank int, local_code string, review_status string, fee_at_stake decimal(22,2), "
       "visits_at_stake long, lines_at_stake long, candidate_1_code string, "
       "candidate_1_name string, candidate_1_score double, candidate_2_name string, "
       "candidate_3_code string, stale_decision_code string, action string")
    assert_df_equality(got, expected, ignore_nullable=True)


@pytest.mark.slow
def test_decisions_loop_through_the_stages(spark: SparkSession, tmp_path: Path) -> None:
    """Map, clean, queue; a reviewer decides from the exported CSV; the next run applies it."""
    (tmp_path / "national.csv").write_text(
        "item_code,item_name\n" + "".join(f"{c},{n}\n" for c, n in NATIONAL), encoding="utf-8")
    (tmp_path / "catalogs.csv").write_text(
        "admdvs,item_code,item_name,chrgitm_lv\n310000,SH1,胆红素检测费,01\n"
        "310000,SH2,心理咨询,01\n", encoding="utf-8")
    (tmp_path / "settlements.csv").write_text(
        "feedetl_sn,setl_id,mdtrt_id,psn_no,insuplc_admdvs,mdtrtarea_admvs,med_type,"
        "medins_list_codg,medins_list_name,det_item_fee_sumamt,fee_ocur_time\n"
        "1,S1,V1,P1,310100,310100,11,SH1,胆红素检测,40,2023-05-01 10:00:00\n"
        "2,S2,V2,P2,310100,310100,11,SH2,心理咨询,80,2023-05-01 10:00:00\n", encoding="utf-8")
    overrides = [f"inputs.national_items.path={tmp_path / 'national.csv'}",
                 f"inputs.catalogs.path={tmp_path / 'catalogs.csv'}",
                 f"inputs.settlements.path={tmp_path / 'settlements.csv'}",
                 "inputs.settlements.format=csv", f"output.path={tmp_path / 'out'}",
                 "run_id=r1"]
    queue_csv = tmp_path / "out" / "exports" / "internal" / "review_queue.csv"

    def run(extra: list[str]) -> pd.DataFrame:
        args = ["--conf", "conf/local.yaml", *[a for o in overrides + extra for a in ("--set", o)]]
        assert run_main(args, "", ["ingest_national", "map_catalogs", "clean_settlements",
                                   "review_queue"]) == 0
        return pd.read_csv(queue_csv, dtype=str, encoding="utf-8-sig", keep_default_na=False)

    queue = run([])
    assert queue_csv.read_bytes()[:3] == b"\xef\xbb\xbf"
    assert queue[["local_code", "fee_at_stake", "candidate_1_code", "candidate_2_code"]] \
        .values.tolist() == [["SH1", "40.00", N1, N2]]
    queue.loc[0, ["action", "candidate", "reviewer", "decided_on"]] = ["accept", "2", "王芳",
                                                                       "2024-03-01"]
    queue.to_csv(tmp_path / "decisions.csv", index=False, encoding="utf-8-sig")
    queue = run([f"matching.decisions_path={tmp_path / 'decisions.csv'}"])
    assert queue.empty
    mapping = spark.read.format("delta" if (tmp_path / "out" / "catalog_mapping" / "_delta_log")
                                .is_dir() else "parquet").load(
        str(tmp_path / "out" / "catalog_mapping")).where(
        "local_code = 'SH1'").select("national_code", "method", "review_status", "decided_by")
    assert [tuple(r) for r in mapping.collect()] == [(N2, "manual", "reviewed", "王芳")]
