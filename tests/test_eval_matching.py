"""The evaluation harness: metrics on a case computed by hand, and one run on generated data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from synth.evaluation import (
    evaluate,
    local_variants,
    scored_items,
    settlement_fees,
    threshold_table,
)

ROOT = Path(__file__).resolve().parents[1]


def _items() -> pd.DataFrame:
    mapping = pd.DataFrame({
        "catalog_region": ["310000", "310000", "310000", "330000", "330000"],
        "local_code": ["A", "B", "C", "D", "E"],
        "national_code": ["N1", "N9", None, "N4", None],
        "review_status": ["auto", "auto", "needs_review", "auto", "no_candidate"],
        "method": ["name_exact", "fuzzy_auto", "unmatched", "code", "unmatched"],
        "score": [100.0, 93.0, 85.0, 100.0, 40.0],
        "candidate_codes": [["N1"], ["N9", "N2"], ["N7", "N3"], ["N4"], ["N8"]],
    })
    truth = pd.DataFrame({"catalog_region": mapping["catalog_region"],
                          "local_code": mapping["local_code"],
                          "true_code": ["N1", "N2", "N3", "N4", "N5"]})
    settlements = pd.DataFrame({  # fees per item: A 100, B 50, C 30 (+ a refund ignored), D 20
        "mdtrtarea_admvs": ["310100", "310104", "310100", "310100", "310100", "330102"],
        "medins_list_codg": ["A", "A", "B", "C", "C", "D"],
        "det_item_fee_sumamt": ["60", "40", "50", "30", "-30", "20"],
    })
    return scored_items(mapping, truth, settlement_fees(settlements))


def test_metrics_by_hand() -> None:
    got = evaluate(_items()).set_index("catalog_region")
    # 310000: A right, B wrong (auto), C in queue with the truth second. 330000: D right, E queue.
    assert got.loc["310000", ["items", "auto", "wrong_auto"]].tolist() == [3, 2, 1]
    assert got.loc["310000", "precision"] == pytest.approx(1 / 2)
    assert got.loc["310000", "recall"] == pytest.approx(1 / 3)
    assert got.loc["310000", "review_rate"] == pytest.approx(1 / 3)
    assert got.loc["310000", "top1"] == pytest.approx(1 / 3)
    assert got.loc["310000", "top5"] == pytest.approx(3 / 3)
    assert got.loc["310000", "fee_correct_share"] == pytest.approx(100 / 180)
    assert got.loc["310000", "fee_wrong_share"] == pytest.approx(50 / 180)
    assert got.loc["310000", "fee_review_share"] == pytest.approx(30 / 180)
    overall = got.loc["overall"]
    assert overall[["items", "auto", "wrong_auto"]].tolist() == [5, 3, 1]
    assert overall["precision"] == pytest.approx(2 / 3)
    assert overall["review_rate"] == pytest.approx(2 / 5)
    assert overall["top5"] == pytest.approx(4 / 5)
    assert overall["fee_correct_share"] == pytest.approx(120 / 200)


def test_threshold_table_by_hand() -> None:
    got = threshold_table(_items(), [40, 90, 95])
    # Fuzzy items: B (93, best N9 wrong), C (85, best N7 wrong), E (40, best N8 wrong).
    assert got["items"].tolist() == [3, 1, 0]
    assert got["precision"].tolist()[:2] == [0.0, 0.0]


def test_local_variants_change_spelling_not_meaning() -> None:
    names = ["血清总胆红素测定", "上颌窦底提升术(复杂)", "气管插管术(床旁操作加收)", "CT平扫"]
    got = local_variants(names, seed=3)
    assert got == local_variants(names, seed=3)
    assert len(got) == len(names)
    for before, after in zip(names, got, strict=True):
        core = before.split("(")[0].replace("测定", "")
        assert core.lower()[:2] in after.lower() or core[:2] in after


@pytest.mark.slow  # a separate Spark run; CI also runs `make eval-matching`
def test_eval_script_on_generated_data(tmp_path: Path) -> None:
    data = tmp_path / "synth"
    subprocess.run([sys.executable, "-m", "synth", "--out", str(data),
                    "--rows", "3000", "--items", "2000", "--seed", "3", "--quiet"],
                   check=True, cwd=ROOT)
    report = tmp_path / "eval.json"
    subprocess.run([sys.executable, "scripts/eval_matching.py", "--data", str(data),
                    "--real", str(tmp_path / "absent.tsv"), "--json", str(report)],
                   check=True, cwd=ROOT, capture_output=True)
    overall = json.loads(report.read_text(encoding="utf-8"))["overall"]
    assert overall["items"] > 20_000
    assert overall["precision"] >= 0.995
    assert overall["top5"] >= 0.99
    assert overall["review_rate"] <= 0.10


def test_real_list_metrics_by_hand() -> None:
    """Family-level figures of scripts/real_lists.py on five items written out by hand."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from real_lists import local_part, metrics, score

    matched = pd.DataFrame({
        "local_name": list("abcde"), "price": ["10", "30", "", "60", "0"],
        # a: right member; b: right family, other member; c: wrong family; d: review with the
        # family second; e: family absent from the library and nothing accepted.
        "true_family": ["310100001", "310100001", "250101001", "250101002", ""],
        "true_code": ["003101000010000", "", "002501010010000", "", ""],
        "national_code": ["003101000010000", "003101000010100", "002501010050000", None, None],
        "review_status": ["auto", "auto", "auto", "needs_review", "no_candidate"],
        "candidate_codes": [["003101000010000"], ["003101000010100"], ["002501010050000"],
                            ["002501010090000", "002501010020000"], []],
    })
    got = metrics(score(matched))
    assert (got["items"], got["in_library"], got["auto"], got["wrong_auto"]) == (5, 4, 3, 1)
    assert got["precision_family"] == pytest.approx(2 / 3)
    assert got["precision_code"] == pytest.approx(1 / 2)  # a right, c wrong (b has no code)
    assert got["review"] == pytest.approx(2 / 5)
    assert got["review_in_library"] == pytest.approx(1 / 4)
    assert got["review_price_weighted"] == pytest.approx(60 / 100)
    assert (got["top1_family"], got["top5_family"]) == (pytest.approx(2 / 4), pytest.approx(3 / 4))
    assert got["top5_code"] == pytest.approx(1 / 2)
    assert local_part("003101000010000-310100001a") == "310100001a"
    assert local_part("310100001") == "310100001"


def _listed(rows: list[tuple[str, str, str, bool, str, str, str]]) -> pd.DataFrame:
    """Scored names-only matches: row, name, match key, automatic or not, true code and family,
    price."""
    from udfs.matching import RESULT_COLUMNS

    frame = pd.DataFrame(rows, columns=["row", "local_name", "match_key", "is_auto", "true_code",
                                        "true_family", "price"])
    for column in RESULT_COLUMNS:
        if column not in frame:
            frame[column] = None
    frame["method"] = ["fuzzy_auto" if auto else "unmatched" for auto in frame["is_auto"]]
    frame["review_status"] = ["auto" if auto else "needs_review" for auto in frame["is_auto"]]
    frame["candidate_codes"] = [[] for _ in range(len(frame))]
    return frame


def test_learning_replay_counts_what_spreads_and_whether_it_is_right(spark) -> None:
    """A's reviewers decide the dearer half of A's queue: the 80-yuan k1 item (the 50-yuan one
    has no code: never decided). That decision resolves A's waiting 5-yuan k1 item and B's two
    waiting k1 items (one of them wrongly: its truth is another family); B's k2 item and B's
    automatic k1 item are left alone. Deciding the whole queue leaves nothing in A to learn."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from learning_replay import replay

    n1, n2 = "003101000010000", "002501010050000"
    eeg = ("脑电图检查", "k1")
    lists = {
        "A": _listed([("1", *eeg, False, n1, "310100001", "80"),
                      ("2", *eeg, False, n1, "310100001", "5"),
                      ("3", "甲", "k3", False, "", "250101005", "50"),
                      ("4", "丙", "k4", False, n2, "250101005", "1")]),
        "B": _listed([("7", *eeg, False, n1, "310100001", ""),
                      ("8", *eeg, False, n2, "250101005", ""),
                      ("9", "乙", "k2", False, n2, "250101005", ""),
                      ("10", *eeg, True, n1, "310100001", "")]),
    }
    national = spark.createDataFrame([(n1, "脑电图"), (n2, "乙")], "national_code string, "
                                     "national_name string")
    half = replay(spark, lists, national, "A", "B", 0.5)
    assert half == {"teacher": "A", "learner": "B", "queue_share_decided": 0.5, "decisions": 1,
                    "teacher_undecided": 2, "learned_in_teacher": 1, "right_in_teacher": 1,
                    "learner_review": 3, "learned_in_learner": 2, "right_in_learner": 1}
    whole = replay(spark, lists, national, "A", "B", 1.0)
    assert (whole["decisions"], whole["teacher_undecided"], whole["learned_in_teacher"],
            whole["learned_in_learner"]) == (3, 0, 0, 2)
