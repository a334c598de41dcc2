"""Small-cell suppression and its audit, on cells linked by published totals.

A table's cells are numbered 0..n-1 with non-negative integer counts; an `Equation` says
that a total cell is the sum of its part cells, because both are published (a class total
beside its items, a scheme beside the items it adds). Primary suppression hides the counts
1..min_cell-1 (the CMS cell-size rule); complementary suppression hides further cells until
no hidden count can be narrowed below min_cell from what is left: the audit computes, for
every hidden primary cell, the largest value consistent with the published cells and the
equations (a linear programme, solved with HiGHS) and reports it as a breach when that
bound is below min_cell.

Pure Python on NumPy/SciPy/HiGHS, so the publication stage runs it per insured region
inside Spark (applyInPandas) and the tests run it on hand-made tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from catalogbridge.privacy.bounds import Bounds, Breach, Equation, components
from catalogbridge.privacy.links import Links

__all__ = ["Breach", "Equation", "Suppression", "audit", "primary_cells", "suppress"]

_REPAIR_ROUNDS = 1000  # every round hides at least one more cell; a table has fewer


@dataclass(frozen=True)
class Suppression:
    primary: frozenset[int]
    complementary: frozenset[int]

    @property
    def hidden(self) -> frozenset[int]:
        return self.primary | self.complementary


def primary_cells(values: Sequence[int], min_cell: int) -> set[int]:
    """The counts 1..min_cell-1 (a published 0 shows that nobody is there: not sensitive)."""
    return {cell for cell, value in enumerate(values) if 0 < value < min_cell}


def suppress(values: Sequence[int], equations: Sequence[Equation], *, min_cell: int,
             lower: Sequence[int] | None = None) -> Suppression:
    """Primary cells, then complementary ones until `audit` finds no breach.

    `lower[c]` is what anybody knows about cell c without the table (1 for an item listed
    because it was used; default 0). Each equation is first protected on its own (no lone
    hidden cell, enough hidden mass beside each primary), then the audit's breaches are
    repaired one more cell at a time: the smallest published cell that can lift the breached
    bound to min_cell, among the cells binding it when its bound was solved exactly, else
    among the nearest published ones.
    """
    lows = list(lower) if lower is not None else [0] * len(values)
    primary = primary_cells(values, min_cell)
    hidden = set(primary)
    links = Links([equation.cells for equation in equations], len(values))
    _protect_locally(values, lows, equations, links.by_cell, hidden, primary, min_cell,
                     range(len(equations)))
    safe: set[int] = set()  # primaries shown to reach min_cell: hiding more keeps them so
    for _ in range(_REPAIR_ROUNDS):
        for exact in (False, True):  # when no repair helps a suspect, its own LP decides
            breaches = _audit(values, equations, hidden, min_cell, lows, primary, safe,
                              exact=exact)
            if not breaches:
                return Suppression(frozenset(primary), frozenset(hidden - primary))
            if _repair(values, lows, equations, links, hidden, primary, min_cell, breaches):
                break
        else:
            raise RuntimeError(f"cell {breaches[0].cell} cannot be protected: every cell "
                               "linked to it is already hidden")
    raise RuntimeError(f"suppression did not converge in {_REPAIR_ROUNDS} rounds")


def _repair(values: Sequence[int], lows: Sequence[int], equations: Sequence[Equation],
            links: Links, hidden: set[int], primary: set[int], min_cell: int,
            breaches: list[Breach]) -> int:
    """Hide one more cell per breach where one can help; how many were hidden."""
    repaired = 0
    is_hidden = np.zeros(len(values), dtype=bool)  # `hidden` as a mask, for `Links`
    is_hidden[list(hidden)] = True
    for breach in breaches:  # found before this round's repairs: some may be mended
        cell = _relieving_cell(values, breach, is_hidden, min_cell) if breach.relief \
            else _repair_cell(values, links, is_hidden, breach, min_cell)
        if cell is not None:
            hidden.add(cell)
            repaired += 1
            protected = _protect_locally(values, lows, equations, links.by_cell, hidden,
                                         primary, min_cell, links.by_cell[cell])
            is_hidden[[cell, *protected]] = True
    return repaired


def audit(values: Sequence[int], equations: Sequence[Equation], hidden: Iterable[int], *,
          min_cell: int, lower: Sequence[int] | None = None,
          primary: Iterable[int] | None = None) -> list[Breach]:
    """Every hidden primary count whose largest value consistent with the published cells
    and equations is below min_cell. `primary` defaults to the hidden cells 1..min_cell-1."""
    lows = list(lower) if lower is not None else [0] * len(values)
    targets = set(primary) if primary is not None else primary_cells(values, min_cell)
    return _audit(values, equations, set(hidden), min_cell, lows, targets, set(), exact=True)


def _audit(values: Sequence[int], equations: Sequence[Equation], hidden: set[int],
           min_cell: int, lows: Sequence[int], primary: set[int], safe: set[int], *,
           exact: bool) -> list[Breach]:
    """`audit` of the hidden primaries not in `safe`, adding those it shows safe to it.

    Hiding a further cell only widens each LP's feasible set (the cell's published value
    stays feasible), so a bound that reached min_cell keeps reaching it: across repair
    rounds only the breached cells need solving again, not every cell of a grown block.
    Not `exact`: the cells no joint solution lifts are suspects, their `upper` a lower bound
    of the true one (enough for suppression to pick repairs; a block of thousands of
    primaries then costs a few LPs a round instead of one per suspect); a block with few
    suspects left solves each exactly, so that its repairs can hide the cells that bind it.
    """
    targets = (primary & hidden) - safe
    if not targets:
        return []
    rows = [equation for equation in equations if hidden.intersection(equation.cells)]
    cells = sorted(hidden)
    column = {cell: position for position, cell in enumerate(cells)}
    breaches = []
    for component_cells, component_rows in components(rows, cells, column):
        open_targets = [c for c in component_cells if c in targets]
        if open_targets:
            bounds = Bounds(values, lows, hidden, component_cells, component_rows)
            found = bounds.breaches(open_targets, min_cell, exact=exact)
            safe.update(set(open_targets) - {b.cell for b in found})
            breaches += found
    return sorted(breaches, key=lambda b: b.cell)


def _protect_locally(values: Sequence[int], lows: Sequence[int], equations: Sequence[Equation],
                     by_cell: list[list[int]], hidden: set[int], primary: set[int],
                     min_cell: int, pending: Iterable[int]) -> list[int]:
    """Hide cells until no equation alone reveals a hidden cell or narrows a primary; the
    cells it hid.

    An equation reveals its only hidden cell; with its total published, the hidden parts'
    sum is known, so each hidden primary part is at most that sum less the others' lower
    bounds, which must reach min_cell.
    """
    hid: list[int] = []
    work = list(pending)
    while work:
        equation = equations[work.pop()]
        need = _local_need(values, lows, equation, hidden, primary, min_cell)
        if need <= 0:
            continue
        published = [p for p in equation.parts if p not in hidden]
        cell = _pick(values, published, need) if published else equation.total
        if cell in hidden:
            continue  # every cell of the equation is hidden: the audit decides
        hidden.add(cell)
        hid.append(cell)
        work += by_cell[cell]
    return hid


def _local_need(values: Sequence[int], lows: Sequence[int], equation: Equation,
                hidden: set[int], primary: set[int], min_cell: int) -> int:
    """How much more hidden mass the equation needs (> 0: hide another of its cells)."""
    hidden_cells = [c for c in equation.cells if c in hidden]
    if not hidden_cells:
        return 0
    if len(hidden_cells) == 1:
        return max(1, min_cell - values[hidden_cells[0]])
    if equation.total in hidden:
        return 0  # the total's own bounds come from elsewhere: the audit checks
    primary_lows = [lows[c] for c in hidden_cells if c in primary]
    if not primary_lows:
        return 0
    # A primary c is at most mass - (low - lows[c]): the least of those bounds decides.
    mass = sum(map(values.__getitem__, hidden_cells))
    low = sum(map(lows.__getitem__, hidden_cells))
    return min_cell - (mass - low + min(primary_lows))


def _pick(values: Sequence[int], candidates: Sequence[int], need: float,
          worth: Callable[[int], float] | None = None) -> int:
    """The smallest candidate worth at least `need`, else the one worth most (a cell is worth
    its value unless `worth` says otherwise)."""
    worth_of = worth or values.__getitem__
    enough = [c for c in candidates if worth_of(c) >= need]
    if enough:
        return min(enough, key=lambda c: (values[c], c))
    return max(candidates, key=lambda c: (worth_of(c), -c))


def _repair_cell(values: Sequence[int], links: Links, is_hidden: np.ndarray, breach: Breach,
                 min_cell: int) -> int | None:
    """A published cell to hide for a breach: in the breached cell's equations first, then
    in those of the hidden cells linked to it (breadth first)."""
    candidates = links.nearest_published(breach.cell, is_hidden)
    return _pick(values, candidates, min_cell - breach.upper) if candidates else None


def _relieving_cell(values: Sequence[int], breach: Breach, is_hidden: np.ndarray,
                    min_cell: int) -> int | None:
    """Of the cells binding an exactly solved breach and still published, the smallest whose
    relief covers the need, else the one relieving most."""
    gain = {cell: gain for cell, gain in breach.relief if not is_hidden[cell]}
    if not gain:
        return None  # this round's repairs hid them all: the next audit tells
    return _pick(values, list(gain), min_cell - breach.upper, gain.__getitem__)
