"""Building blocks of the item vocabulary: a group of candidate names under one code section.

Each group sits under a 6-digit code prefix (level-2 class + section + subsection), like the
real spec, and carries what a generated item inherits: bracket qualifiers for sibling
variants, surcharge (加收) qualifiers, unit, price range and how often it is billed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    prefix: str  # class2 + section2 + subsection2, e.g. '250301'
    names: tuple[str, ...]  # candidate main-item names
    quals: tuple[str, ...] = ()  # bracket qualifiers -> sibling variants '0100', '0200', ...
    surch: tuple[str, ...] = ()  # surcharge qualifiers -> '0001', '0002' items
    unit: str = "次"
    price: tuple[float, float] = (10.0, 100.0)  # national guide price range, yuan
    pop: float = 1.0  # relative usage weight within its class
    op: float = 1.0  # outpatient propensity
    ip: float = 1.0  # inpatient propensity
    desc: str = ""  # 项目内涵 (scope note)


def cross(*parts: Iterable[str]) -> tuple[str, ...]:
    """All concatenations a+b+... of the given word lists, in order."""
    out: list[str] = [""]
    for part in parts:
        words = list(part)
        out = [o + w for o in out for w in words]
    return tuple(out)


def dedupe(*lists: Iterable[str]) -> tuple[str, ...]:
    """Concatenate word lists keeping the first occurrence of each name."""
    seen: dict[str, None] = {}
    for lst in lists:
        for w in lst:
            seen.setdefault(w, None)
    return tuple(seen)


SIDES = ("单侧", "双侧")
SIZES = ("大", "中", "小")
