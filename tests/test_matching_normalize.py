"""Name normalisation: what is ignored, what is kept apart, and the user's synonym file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from udfs.matching import MatchParams, NationalLibrary, map_items
from udfs.normalize import (
    BASIC,
    load_normalizer,
    normalizer_from_dict,
    synonym_collisions,
)

SYNONYMS = Path(__file__).resolve().parents[1] / "conf" / "synonyms.yaml"
NORM = load_normalizer(SYNONYMS)


@pytest.mark.parametrize(("raw", "normalized"), [
    ("诊查费（营养状况评估）", "诊查(营养状况评估)"),
    ("CT 检查【平扫】费", "ct检查(平扫)"),
    ("Ｂ超-常规 检查", "b超常规检查"),
    ("血常规检测费用", "血常规检测"),
    ("心电图[十二导联]", "心电图(十二导联)"),
    ("精液常规检查(镜检)(含标本采集)", "精液常规检查(镜检)"),
    ("X线摄影（不含胶片）", "x线摄影"),
    ("脑池X线计算机体层(CT)含气造影", "脑池x线计算机体层(ct)含气造影"),  # 含 inside a name stays
    ("普通病房床位费/日", "普通病房床位"),
    ("针刺/次", "针刺"),
    ("轮状病毒检测\ue005", "轮状病毒检测"),          # a user-defined character: unreadable
    ("_窝囊肿切除术", "窝囊肿切除术"),               # the sample's lost character
    ("", ""),
    (None, ""),
])
def test_basic_normalisation(raw: str | None, normalized: str) -> None:
    assert BASIC(raw) == normalized


@pytest.mark.parametrize(("a", "b"), [
    ("血清总胆红素测定", "总胆红素检测费"),          # 血清 left out, 检测 for 测定, 费
    ("静息心肌灌注显象", "静息心肌灌注显像"),
    ("腰椎磁共振平扫(MRI)", "腰椎核磁共振平扫"),      # gloss dropped, 核磁共振
    ("头颅数字化X线摄影(DR)(正侧位)", "头颅DR摄影（正侧位）"),
    ("胸部X线计算机体层(CT)平扫", "胸部CT平扫"),
    ("C反应蛋白(CRP)测定", "crp测定"),               # Latin case and acronym
    ("Ⅰ级护理", "一级护理"),
    ("推拿治疗", "推拿"),
    # 𬌗 as the sample writes it (合), as a Guangxi list stores it (user-defined U+E06B), and
    # as (牙合) or 颌 elsewhere.
    ("乳牙期安氏I类错合正畸治疗(前牙或后牙开合加收)",
     "乳牙期安氏I类错\ue06b正畸治疗(前牙或后牙开\ue06b加收)"),
    ("恒牙期安氏I类错合固定矫治器正畸治疗", "恒牙期安氏I类错(牙合)固定矫治器正畸治疗"),
    ("严重深覆合加收", "严重深覆\ue06b加收"),
    ("错𬌗畸形", "错颌畸形"),
    ("𬌗导板制备", "\ue06b导板制备"),
])
def test_synonyms_make_local_spellings_equal(a: str, b: str) -> None:
    assert NORM(a) == NORM(b)


@pytest.mark.parametrize(("a", "b"), [
    ("汉密尔顿抑郁量表", "汉密尔顿焦虑量表"),
    ("经颅磁刺激治疗(单次)", "经颅磁刺激治疗(多次)"),
    ("耳穴压豆", "耳穴压豆(每部位)"),
    ("腰椎磁共振平扫(1.5T)", "腰椎磁共振平扫(3.0T)"),
    ("腰椎磁共振平扫", "腰椎磁共振平扫(1.5T)"),
    ("活化部分凝血活酶时间测定", "凝血酶原时间测定"),  # APTT is not PT
    ("咬合检查", "咬合片"),                          # 𬌗 spellings leave the rest alone
    ("错合畸形", "错缝畸形"),
    ("综合征检查", "综𬌗征检查"),                   # 合 alone is not 𬌗
])
def test_siblings_stay_apart(a: str, b: str) -> None:
    assert NORM(a) != NORM(b)


def test_latin_acronym_inside_a_longer_word_is_left_alone() -> None:
    assert NORM("APTT测定") == NORM("活化部分凝血活酶时间测定")
    assert "凝血酶原时间" not in NORM("APTT测定")


def test_user_groups_extend_the_defaults_and_bad_files_say_why(tmp_path: Path) -> None:
    custom = normalizer_from_dict({"synonyms": [["彩超", "彩色多普勒超声", "彩色B超"]]})
    assert custom("心脏彩色B超检查") == custom("心脏彩色多普勒超声检查") == "心脏彩超检查"
    bad = tmp_path / "bad.yaml"
    bad.write_text("synonyms: [测定]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="list of lists"):
        load_normalizer(bad)
    bad.write_text("synonym: []\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown key"):
        load_normalizer(bad)


def test_a_synonym_that_would_merge_national_items_is_not_applied_to_them() -> None:
    names = ["血清铁蛋白测定", "铁蛋白测定", "血清总胆红素测定"]
    assert list(synonym_collisions(names, NORM).values()) == [[0, 1]]
    lib = NationalLibrary(["002503010080000", "002504040150000", "002503010090000"], names, NORM)
    got = map_items([None] * 4, ["铁蛋白检测费", "血清铁蛋白检测", "总胆红素检测", "血清总胆红素测定"],
                    [None] * 4, lib, MatchParams())
    assert got["national_code"].tolist() == [
        "002504040150000", "002503010080000", "002503010090000", "002503010090000"]
    assert got["method"].tolist() == ["name_exact"] * 4


def test_real_library_has_no_unsafe_synonym_but_the_known_one(nhsa_dir: Path) -> None:
    sample = pd.read_csv(nhsa_dir / "national_items_sample.tsv", sep="\t", dtype=str).fillna("")
    merged = synonym_collisions(sample["name"].tolist(), NORM)
    names = sorted(tuple(sorted(sample["name"].iloc[idx])) for idx in merged.values())
    # Only the dropped 血清 merges two real items; the library keeps them apart (test above).
    assert names == [("血清铁蛋白测定", "铁蛋白测定")]
