"""A two-province case small enough to compute by hand (see test_pipeline_two_provinces.py).

Zhejiang (330000) insured, Shanghai (310000) treatment, plus the reverse pair. National items:
  N1 心理咨询 (31, therapeutic)   N2 血常规检测 (25, diagnostic)   N3 颅内肿瘤切除术 (33)
  N4 立体定向放射治疗 (24: radiotherapy counts as therapeutic)   N5 普通针刺 (43)
  N6 普通门诊诊查 (11, diagnostic)
Shanghai covers N1 N2 N3 N4 N6 (N5 at level 03); Zhejiang covers N2 N5, lists N1 and N4 at
level 03 and lacks N3 and N6. So the pair (330000, 310000) has discrepant N1 N3 N4 N6 and the
pair (310000, 330000) has N5.
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
    ]
    return [HEADER, *rows]



def write_inputs(root: Path) -> list[str]:
    """Write the case's input files under `root`; return the pipeline arguments for them."""
    (root / "national.csv").write_text(
        "item_code,item_name\n" + "".join(f"{c},{n}\n" for c, n in NATIONAL), encoding="utf-8")
    (root / "catalogs").mkdir(exist_ok=True)
    (root / "catalogs" / "all.csv").write_text(
        "admdvs,item_code,item_name,chrgitm_lv,national_code\n"
        + "".join(",".join(r) + "\n" for r in CATALOG), encoding="utf-8")
    (root / "settlements.csv").write_text("\n".join(settlement_lines()) + "\n", encoding="utf-8")
    return [
        "--conf", "conf/local.yaml",
        "--set", f"inputs.national_items.path={root / 'national.csv'}",
        "--set", f"inputs.catalogs.path={root / 'catalogs'}",
        "--set", f"inputs.settlements.path={root / 'settlements.csv'}",
        "--set", "inputs.settlements.format=csv",
        "--set", f"output.path={root / 'out'}",
        "--set", "scenario.thresholds=[0, 2, 3]",
    ]
