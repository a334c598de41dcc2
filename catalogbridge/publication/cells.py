"""The published counts of one insured region as cells and equations (pure pandas).

Everything published about the insured of region P is derived from P's discrepant items:
per pair the items (`discrepant_items`), their class totals (`class_summary`) and schemes
(`scenario_results`); across P's pairs the decision view (`insured_decisions`) and its
schemes (`insured_scenarios`). A count shown in two tables is one cell (P's home use of an
item appears in every pair's list), and every published sum is an equation, so the
suppression of `privacy.disclosure` protects all of P's tables together. Regions never
share a cell, so each insured region is suppressed on its own.

A cell's key is (kind, treatment_admdvs, national_code, grouping, group_code, scheme), with
the parts a kind does not use left empty; its value is a visit count (the fee of the same
cell is hidden with it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from catalogbridge.names import THERAPEUTIC, TREATMENT
from catalogbridge.privacy.disclosure import Equation

ITEM_TREATMENT = "item_treatment"  # (T, item): P's insured in T
ITEM_HOME = "item_home"  # (item): P's insured at home
CLASS_TREATMENT, CLASS_HOME, CLASS_TOTAL = "class_treatment", "class_home", "class_total"
PAIR_SCHEME = "pair_scheme"  # (T, scheme)
INSURED_AWAY, INSURED_TOTAL = "insured_away", "insured_total"  # (item)
INSURED_SCHEME = "insured_scheme"  # (scheme)
KEY = ("kind", TREATMENT, "national_code", "grouping", "group_code", "scheme")
GROUPINGS = ("class_l1", "class_l2", "function", "total")
Key = tuple[str, str | None, str | None, str | None, str | None, int | None]


@dataclass(frozen=True)
class SchemeRule:
    """Which items scheme n adds: in scope, with `on` reaching thresholds[n-1]."""

    thresholds: tuple[int, ...]
    scope: str  # therapeutic | all
    on: str  # the measure compared: visits_treatment (pairs), visits_away or visits_total


class Cells:
    """Cells with their values, public lower bounds and the equations between them."""

    def __init__(self) -> None:
        self.keys: list[Key] = []
        self.values: list[int] = []
        self.lower: list[int] = []
        self.equations: list[Equation] = []
        self._index: dict[Key, int] = {}

    def cell(self, key: Key, value: int, low: int = 0) -> int:
        if key not in self._index:
            self._index[key] = len(self.keys)
            self.keys.append(key)
            self.values.append(int(value))
            self.lower.append(low)
        return self._index[key]

    def total(self, key: Key, parts: list[int]) -> int:
        """A published sum of `parts`: its cell and its equation."""
        cell = self.cell(key, sum(self.values[p] for p in parts))
        if parts:
            self.equations.append(Equation(cell, tuple(parts)))
        return cell


def region_cells(items: pd.DataFrame, *, pair_rule: SchemeRule,
                 insured_rule: SchemeRule) -> Cells:
    """The cells of one insured region from its discrepant items (`treatment_admdvs`,
    `national_code`, the class columns, `function`, `visits_treatment`, `visits_home`)."""
    cells = Cells()
    items = items.sort_values([TREATMENT, "national_code"]).reset_index(drop=True)
    away = [cells.cell((ITEM_TREATMENT, t, code, None, None, None), v, low=1)
            for t, code, v in zip(items[TREATMENT], items["national_code"],
                                  items["visits_treatment"], strict=True)]
    home = [cells.cell((ITEM_HOME, None, code, None, None, None), v)
            for code, v in zip(items["national_code"], items["visits_home"], strict=True)]
    items = items.assign(_away=away, _home=home)
    for treatment, pair in items.groupby(TREATMENT, sort=True):
        _class_cells(cells, str(treatment), pair)
        _scheme_cells(cells, pair, pair_rule, functools.partial(_pair_scheme, str(treatment)))
    decisions = _decision_cells(cells, items)
    _scheme_cells(cells, decisions, insured_rule, _insured_scheme)
    return cells


def _pair_scheme(treatment: str, scheme: int) -> Key:
    return (PAIR_SCHEME, treatment, None, None, None, scheme)


def _insured_scheme(scheme: int) -> Key:
    return (INSURED_SCHEME, None, None, None, None, scheme)


def _class_cells(cells: Cells, treatment: str, pair: pd.DataFrame) -> None:
    """class_summary: per grouping and group, the treatment, home and total visits."""
    for grouping in GROUPINGS:
        codes = pair[grouping] if grouping != "total" else pd.Series("total", index=pair.index)
        for code, group in pair.groupby(codes.fillna(""), sort=True):
            key_code = str(code) or None
            away = cells.total((CLASS_TREATMENT, treatment, None, grouping, key_code, None),
                               list(group["_away"]))
            home = cells.total((CLASS_HOME, treatment, None, grouping, key_code, None),
                               list(group["_home"]))
            cells.total((CLASS_TOTAL, treatment, None, grouping, key_code, None), [away, home])


def _decision_cells(cells: Cells, items: pd.DataFrame) -> pd.DataFrame:
    """insured_decisions: per item its visits in the covering regions, at home, in total."""
    rows = []
    for code, item in items.groupby("national_code", sort=True):
        away = cells.total((INSURED_AWAY, None, str(code), None, None, None), list(item["_away"]))
        home = int(item["_home"].iloc[0])
        total = cells.total((INSURED_TOTAL, None, str(code), None, None, None), [away, home])
        rows.append({"national_code": code, "function": item["function"].iloc[0],
                     "visits_away": cells.values[away], "visits_total": cells.values[total],
                     "_away": away, "_home": home})
    return pd.DataFrame(rows, columns=["national_code", "function", "visits_away",
                                       "visits_total", "_away", "_home"])


def _scheme_cells(cells: Cells, items: pd.DataFrame, rule: SchemeRule,
                  key: Callable[[int], Key]) -> None:
    """Scheme n's visits: the sum of its items' visits (where treated plus at home)."""
    scoped = items if rule.scope == "all" else items[items["function"] == THERAPEUTIC]
    for n, threshold in enumerate(rule.thresholds, start=1):
        chosen = scoped[scoped[rule.on] >= threshold]
        cells.total(key(n), [*chosen["_away"], *chosen["_home"]])
