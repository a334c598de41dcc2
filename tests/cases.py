"""A two-province case small enough to compute by hand (see test_pipeline_two_provinces.py).

Zhejiang (330000) insured, Shanghai (310000) treatment, plus the reverse pair. National items:
  N1 心理咨询 (31, therapeutic)   N2 血常规检测 (25, diagnostic)   N3 颅内肿瘤切除术 (33)
  N4 立体定向放射治疗 (24: radiotherapy counts as therapeutic)   N5 普通针刺 (43)
  N6 普通门诊诊查 (11, diagnostic)
Shanghai covers N1 N2 N3 N4 N6 (N5 at level 03); Zhejiang covers N2 N5, lists N1 and N4 at
level 03 and lacks N3 and N6. So the pair (330000, 310000) has discrepant N1 N3 N4 N6 and the
pair (310000, 330000) has N5. Shanghai's SH07 高压氧舱 matches no national item: it waits in
the review queue with the 60 yuan billed under it.
"""

from __future__ import annotations

from pathlib import Path

N1, N2, N3 = "003101000010000", "002501000010000", "003302000010000"
N4, N5, N6 = "002401000010000", "004301000010000", "001101000010000"

NATIONAL = [
    (N1, "心理咨询"), (N2, "血常规检测"), (N3, "颅内肿瘤切除术"),
    (N4, "立体定向放射治疗"), (N5, "普通针刺"), (N6, "普通门诊诊查费"),
]
CATALOG = [  # admdvs, item_code, item_name, chrgitm_lv, national_code
    ("310000", "SH01", "心理咨询", "乙类", ""),          # name_exact -> N1
    ("310000", "SH02", "血常规检测", "01", ""),          # name_exact -> N2
    ("310000", "SH03", "颅内肿瘤切除", "甲", N3),         # provided -> N3
    ("310000", "240100001", "立体定向放射治疗", "02", ""),  # 9-digit base code, names agree -> N4
    ("310000", "SH05", "普通针刺", "丙类", ""),           # level 03: not covered in Shanghai
    ("310000", "SH06", "普通门诊诊查费", "01", ""),        # -> N6
    ("330000", "ZJ01", "心理咨询", "03", ""),             # level 03 in Zhejiang
    ("330000", "ZJ02", "血常规检测", "01", ""),
    ("330000", "ZJ04", "立体定向放射治疗", "自费", ""),
    ("330000", "ZJ05", "普通针刺", "01", ""),
    ("310000", "SH07", "高压氧舱", "01", ""),              # no candidate: the review queue
]
HEADER = ("feedetl_sn,setl_id,mdtrt_id,psn_no,insuplc_admdvs,mdtrtarea_admvs,med_type,"
          "medins_list_codg,medins_list_name,det_item_fee_sumamt,fee_ocur_time,med_list_codg")
ZJ_IN_SH = [  # sn, visit, code, name, fee
    ("1", "V1", "SH01", "心理咨询", "100"), ("2", "V1", "SH01", "心理咨询", "50"),
    ("3", "V2", "SH01", "心理咨询", "100"), ("4", "V3", "SH01", "心理咨询", "100"),
    ("5", "V4", "SH03", "颅内肿瘤切除", "20000"),
    ("6", "V5", "240100001", "立体定向放射治疗", "5000"),
    ("7", "V6", "240100001", "立体定向放射治疗", "5000"),
    ("8", "V5", "SH06", "普通门诊诊查费", "10"), ("9", "V7", "SH06", "普通门诊诊查费", "10"),
    ("10", "V1", "SH02", "血常规检测", "30"),
]


def settlement_lines() -> list[str]:
    def line(sn: str, visit: str, ins: str, treat: str, code: str, name: str, fee: str,
             when: str = "2023-05-01 10:00:00", row_code: str = "") -> str:
        return f"{sn},S{visit},{visit},P{visit},{ins},{treat},21,{code},{name},{fee},{when},{row_code}"

    rows = [line(sn, v, "330100", "310100", c, n, f) for sn, v, c, n, f in ZJ_IN_SH]
    rows += [
        line("11", "H1", "330100", "330200", "ZJ01", "心理咨询", "80"),
        line("12", "H2", "330100", "330200", "ZJ01", "心理咨询", "80"),
        line("13", "H3", "330100", "330200", "ZJ04", "立体定向放射治疗", "4000"),
        # Not in Zhejiang's catalog, but the row carries its national code.
        line("14", "H4", "330100", "330200", "ZJX9", "颅内肿瘤切除术", "15000", row_code=N3),
        line("15", "S1", "310100", "330100", "ZJ05", "普通针刺", "30"),
        line("16", "S2", "310100", "310100", "SH05", "普通针刺", "25"),
        # Dirty rows: fee 0, no code, a re-sent copy of line 1, out of period, unknown region.
        line("17", "V8", "330100", "310100", "SH01", "心理咨询", "0"),
        line("18", "V8", "330100", "310100", "", "心理咨询", "100"),
        line("1", "V1", "330100", "310100", "SH01", "心理咨询", "100"),
        line("19", "V9", "330100", "310100", "SH01", "心理咨询", "100", when="2022-12-31 23:59:59"),
        line("20", "V9", "990100", "310100", "SH01", "心理咨询", "100"),
        # Clean, but its item awaits review: not counted, its fee is the queue's money at stake.
        line("21", "V10", "330100", "310100", "SH07", "高压氧舱", "60"),
    ]
    return [HEADER, *rows]



# Repeats that must not change any table, whichever row Spark happens to read first: N2
# listed twice in the library (once with a description), and Hangzhou's city catalog
# repeating Zhejiang items at the same level (folded into the province at province level;
# the province's own row wins, so its spelling is the one matched).
NATIONAL_REPEATS = [(N2, "血常规检测", "")]
NATIONAL_DESCRIPTIONS = {N2: "含五分类"}
CITY_CATALOG = [
    ("330100", "ZJ02", "血常规检查", "甲类", ""),
    ("330100", "ZJ05", "针刺（普通）", "01", ""),
]


def write_inputs(root: Path, *, shuffled: bool = False) -> list[str]:
    """Write the case's input files under `root`; return the pipeline arguments for them.

    `shuffled` writes the same rows in another order and the catalog files under names that
    sort the other way round, so Spark reads them in a different order.
    """
    def ordered(rows: list[str]) -> list[str]:
        return rows[::-1] if shuffled else rows

    library = [f"{c},{n},{NATIONAL_DESCRIPTIONS.get(c, '')}" for c, n in NATIONAL]
    library += [",".join(r) for r in NATIONAL_REPEATS]
    (root / "national.csv").write_text(
        "item_code,item_name,item_desc\n" + "".join(f"{r}\n" for r in ordered(library)),
        encoding="utf-8")
    (root / "catalogs").mkdir(exist_ok=True)
    header = "admdvs,item_code,item_name,chrgitm_lv,national_code\n"
    names = ("b_city.csv", "a_provinces.csv") if shuffled else ("a_city.csv", "b_provinces.csv")
    for name, rows in zip(names, (CITY_CATALOG, CATALOG), strict=True):
        (root / "catalogs" / name).write_text(
            header + "".join(f"{r}\n" for r in ordered([",".join(r) for r in rows])),
            encoding="utf-8")
    lines = settlement_lines()
    (root / "settlements.csv").write_text(
        "\n".join([lines[0], *ordered(lines[1:])]) + "\n", encoding="utf-8")
    return [
        "--conf", "conf/local.yaml",
        "--set", f"inputs.national_items.path={root / 'national.csv'}",
        "--set", f"inputs.catalogs.path={root / 'catalogs'}",
        "--set", f"inputs.settlements.path={root / 'settlements.csv'}",
        "--set", "inputs.settlements.format=csv",
        "--set", f"output.path={root / 'out'}",
        "--set", "scenario.thresholds=[0, 2, 3]",
        # Hand-computed expectations of a few visits: published as they are (min_cell 1);
        # suppression is tested on the national case (tests/test_publication.py).
        "--set", "privacy.min_cell=1",
    ]
