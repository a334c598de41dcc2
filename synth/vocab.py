"""The item vocabulary (read from `vocabulary/*.yaml`) and the tables that shape the library.

Class shares follow the real NHSA library (surgery, clinical and laboratory items dominate);
keyword tables mark high-tech items (covered first by rich provinces), cosmetic items
(usually 丙类), sex- and age-restricted items and everyday items that are billed most.
"""

from __future__ import annotations

from synth.groups import VOCABULARY_DIR, Group, VocabularyError, load_vocabulary
from synth.keywords import (
    ACRONYMS,
    CHILD_KEYWORDS,
    CHRONIC_KEYWORDS,
    COSMETIC_KEYWORDS,
    EXCLUDED_NOTES,
    FEMALE_KEYWORDS,
    INPATIENT_ONLY,
    MAJOR_KEYWORDS,
    MALE_KEYWORDS,
    OUTPATIENT_ONLY,
    POPULAR_KEYWORDS,
    SCOPE_NOTES,
    SIMPLE_KEYWORDS,
    SYNONYMS,
    TECH_KEYWORDS,
)

# Keyword tables live in keywords; re-exported so callers use one namespace.
__all__ = [
    "ACRONYMS",
    "CHILD_KEYWORDS",
    "CHRONIC_KEYWORDS",
    "COSMETIC_KEYWORDS",
    "EXCLUDED_NOTES",
    "FEMALE_KEYWORDS",
    "INPATIENT_ONLY",
    "MAJOR_KEYWORDS",
    "MALE_KEYWORDS",
    "OUTPATIENT_ONLY",
    "POPULAR_KEYWORDS",
    "SCOPE_NOTES",
    "SIMPLE_KEYWORDS",
    "SYNONYMS",
    "TECH_KEYWORDS",
]

CLASS_NAMES: dict[str, str] = {
    "11": "一般医疗服务",
    "12": "一般检查治疗",
    "21": "医学影像",
    "22": "超声检查",
    "23": "核医学",
    "24": "放射治疗",
    "25": "检验",
    "26": "血型与配血",
    "27": "病理检查",
    "31": "临床各系统诊疗",
    "32": "经血管介入诊疗",
    "33": "手术治疗",
    "34": "物理治疗与康复",
    "41": "中医外治",
    "42": "中医骨伤",
    "43": "针刺",
    "44": "灸法",
    "45": "推拿疗法",
    "46": "中医肛肠",
    "47": "中医特殊疗法",
}
CLASSES: tuple[str, ...] = tuple(CLASS_NAMES)


def _all_groups() -> tuple[Group, ...]:
    """The groups of the vocabulary files, class by class, each class in its file's order."""
    files = load_vocabulary()
    covered = {c for f in files for c in f.classes}
    if covered != set(CLASSES):
        missing, unknown = sorted(set(CLASSES) - covered), sorted(covered - set(CLASSES))
        raise VocabularyError(f"{VOCABULARY_DIR}: field 'classes': no file holds class(es) "
                              f"{missing or '-'}; unknown class(es) {unknown or '-'}")
    return tuple(g for c in CLASSES for f in files for g in f.groups if g.prefix[:2] == c)


ALL_GROUPS: tuple[Group, ...] = _all_groups()

# Share of the national library per level-2 class (shape of the real library).
LIBRARY_SHARE: dict[str, float] = {
    "11": 0.010,
    "12": 0.022,
    "21": 0.035,
    "22": 0.022,
    "23": 0.018,
    "24": 0.012,
    "25": 0.165,
    "26": 0.004,
    "27": 0.012,
    "31": 0.200,
    "32": 0.022,
    "33": 0.380,
    "34": 0.030,
    "41": 0.008,
    "42": 0.006,
    "43": 0.012,
    "44": 0.006,
    "45": 0.007,
    "46": 0.006,
    "47": 0.005,
}

# Sibling qualifiers and surcharges any item of a class may have, besides its group's own.
CLASS_QUALS: dict[str, tuple[str, ...]] = {
    "11": ("夜间", "节假日"),
    "12": ("小儿", "床旁"),
    "21": ("床旁", "急诊"),
    "22": ("床旁", "小儿"),
    "23": ("局部", "全身"),
    "24": ("每疗程",),
    "25": ("急诊",),
    "26": ("急诊",),
    "27": ("每个蜡块", "会诊"),
    "31": ("床旁", "小儿", "复杂"),
    "32": ("单支", "多支", "复杂"),
    "33": ("复杂", "儿童", "再次手术"),
    "34": ("每部位", "儿童"),
    "41": ("每部位",),
    "42": ("儿童",),
    "43": ("每穴位",),
    "44": ("每穴位",),
    "45": ("儿童",),
    "46": ("复杂",),
    "47": ("每部位",),
}
CLASS_SURCH: dict[str, tuple[str, ...]] = {
    "21": ("急诊检查",),
    "22": ("急诊检查",),
    "25": ("急诊检验",),
    "31": ("床旁操作", "使用超声引导"),
    "33": ("急诊手术", "再次手术", "术中超声引导"),
    "32": ("急诊手术",),
    "12": ("夜间",),
}

# Share of billed lines per class: (outpatient, inpatient). Lab and general services dominate.
USAGE_SHARE: dict[str, tuple[float, float]] = {
    "11": (0.17, 0.13),
    "12": (0.12, 0.24),
    "21": (0.06, 0.04),
    "22": (0.06, 0.03),
    "23": (0.003, 0.003),
    "24": (0.006, 0.005),
    "25": (0.34, 0.34),
    "26": (0.002, 0.006),
    "27": (0.01, 0.012),
    "31": (0.10, 0.10),
    "32": (0.0005, 0.005),
    "33": (0.004, 0.035),
    "34": (0.05, 0.025),
    "41": (0.02, 0.01),
    "42": (0.003, 0.002),
    "43": (0.03, 0.01),
    "44": (0.01, 0.004),
    "45": (0.01, 0.004),
    "46": (0.002, 0.003),
    "47": (0.004, 0.002),
}
# Chronic-disease outpatients (med_type 14) lean on lab, dialysis, radiotherapy and rehab.
CHRONIC_CLASS_BOOST: dict[str, float] = {"25": 1.4, "24": 6.0, "31": 1.5, "34": 1.5, "33": 0.2, "11": 0.8}
# Patients travel to another province for treatment more than for routine tests.
CROSS_CLASS_BOOST: dict[str, float] = {
    "33": 1.5,
    "32": 1.8,
    "24": 1.8,
    "23": 1.6,
    "31": 1.2,
    "27": 1.3,
    "21": 1.1,
    "11": 0.9,
    "12": 0.9,
}

def parse_name(entry: str) -> tuple[str, tuple[str, ...]]:
    """'name|q1,q2' -> ('name', ('q1', 'q2'))."""
    if "|" in entry:
        name, quals = entry.split("|", 1)
        return name, tuple(q for q in quals.split(",") if q)
    return entry, ()


def groups_by_class() -> dict[str, list[Group]]:
    out: dict[str, list[Group]] = {c: [] for c in CLASSES}
    for g in ALL_GROUPS:
        out[g.prefix[:2]].append(g)
    return out


def keyword_max(name: str, table: dict[str, float], default: float = 0.0) -> float:
    hits = [v for k, v in table.items() if k in name]
    return max(hits) if hits else default


def any_keyword(name: str, words: tuple[str, ...]) -> bool:
    return any(w in name for w in words)
