"""What the decision stages compute (conf `decision`), validated when the conf is loaded."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from catalogbridge.decisions.budget import BudgetSettings
from catalogbridge.decisions.selection import SelectionSettings
from catalogbridge.labels import PROVINCE_NAMES
from catalogbridge.settings import SettingError, check_choice

THRESHOLD_MEASURES = {"away": "visits_away", "total": "visits_total"}
# The main regional integration areas (provinces); edit or add groups in conf.
DEFAULT_GROUPS: dict[str, list[str]] = {
    "长三角": ["310000", "320000", "330000", "340000"],
    "京津冀": ["110000", "120000", "130000"],
    "川渝": ["500000", "510000"],
}
_REGION_CODE = re.compile(r"\d{6}")


@dataclass(frozen=True)
class DecisionSettings:
    """Schemes per insured region and the region groups (conf `decision`).

    `threshold_on`: away = the insured's visits in the regions covering the item (the
    paper's measure, summed over those regions), total = with their visits at home.
    `thresholds`: visit counts of schemes 1..n; empty = those of `scenario.thresholds`.
    `groups`: name -> member region codes (GB/T 2260); at city level a province code
    stands for its regions in the data (`groups.group_members`).
    `majority_members`: the majority rule's "covered by at least k members"; 0 = more
    than half of the group's members.
    `budget`: the fund-impact model, its sensitivity and Monte Carlo draws;
    `selection`: budget-optimal selection of items under caps.
    """

    threshold_on: str = "away"
    thresholds: list[int] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_GROUPS))
    majority_members: int = 0
    budget: BudgetSettings = field(default_factory=BudgetSettings)
    selection: SelectionSettings = field(default_factory=SelectionSettings)

    def __post_init__(self) -> None:
        check_choice("threshold_on", self.threshold_on, tuple(THRESHOLD_MEASURES))
        if any(t < 0 for t in self.thresholds) or sorted(set(self.thresholds)) != self.thresholds:
            raise SettingError(
                "thresholds", "use distinct non-negative visit counts in ascending order, or [] "
                f"for scenario.thresholds; got {self.thresholds}")
        if self.majority_members < 0:
            raise SettingError("majority_members", "must be >= 0 (0: more than half the members)")
        for name, members in self.groups.items():
            _check_group(name, members, self.majority_members)

    def majority(self, members: int) -> int:
        """The majority rule's k for a group of `members` regions."""
        return self.majority_members or members // 2 + 1


def _check_group(name: str, members: list[str], majority_members: int) -> None:
    key = f"groups.{name}"
    unknown = [m for m in members
               if not _REGION_CODE.fullmatch(m) or m[:2] + "0000" not in PROVINCE_NAMES]
    if unknown:
        raise SettingError(key, f"unknown region code(s) {', '.join(unknown)}; use 6-digit "
                                "GB/T 2260 codes such as 310000 (Shanghai) or 330100 (Hangzhou)")
    if len(set(members)) != len(members) or len(members) < 2:
        raise SettingError(key, f"list at least two distinct regions, got {members}")
    if majority_members > len(members):
        raise SettingError("majority_members", f"{majority_members} is more than the "
                                               f"{len(members)} members of group {name}")
