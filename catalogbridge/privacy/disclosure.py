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

import functools
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from catalogbridge.privacy.links import Links

_LARGE = 1e12  # upper bound of every hidden cell: keeps each LP bounded
_TOLERANCE = 1e-6  # an LP bound this close to an integer is that integer
_SCREEN_MIN_SHARE = 0.05  # a screening pass lifting fewer of the targets left is the last
_FEW_SUSPECTS = 50  # a screen leaving no more suspects in a block has each one solved exactly
_REPAIR_ROUNDS = 1000  # every round hides at least one more cell; a table has fewer


@dataclass(frozen=True)
class Equation:
    """Published: cell `total` equals the sum of the cells `parts`."""

    total: int
    parts: tuple[int, ...]

    @functools.cached_property
    def cells(self) -> tuple[int, ...]:
        return (self.total, *self.parts)


@dataclass(frozen=True)
class Breach:
    """A hidden count whose largest consistent value `upper` is below the threshold.

    `relief`: published cells whose hiding raises `upper`, with how much at most, when the
    bound was solved exactly (read from the LP's duals: the cells that bind it).
    """

    cell: int
    value: int
    upper: int
    relief: tuple[tuple[int, float], ...] = field(default=(), compare=False, repr=False)


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
    for component_cells, component_rows in _components(rows, cells, column):
        open_targets = [c for c in component_cells if c in targets]
        if open_targets:
            bounds = _Bounds(values, lows, hidden, component_cells, component_rows)
            found = bounds.breaches(open_targets, values, min_cell, exact=exact)
            safe.update(set(open_targets) - {b.cell for b in found})
            breaches += found
    return sorted(breaches, key=lambda b: b.cell)


@functools.cache
def _silence_banner() -> None:
    """HiGHS prints its banner to standard output once per process, when its first instance
    is made, before any option can be set: make that instance with stdout sent nowhere."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as nowhere:
            os.dup2(nowhere.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


@dataclass(frozen=True)
class _Row:
    """An equation over a block's columns; its published cells, with their coefficient in
    total - sum(parts) = 0, are constants moved to the right-hand side."""

    rhs: float
    columns: np.ndarray
    coefficients: np.ndarray
    published: tuple[tuple[int, float], ...]


class _Bounds:
    """One connected block of hidden cells as an LP, kept warm across objectives."""

    def __init__(self, values: Sequence[int], lows: Sequence[int], hidden: set[int],
                 cells: list[int], rows: list[Equation]) -> None:
        self.position = {cell: i for i, cell in enumerate(cells)}
        self.lows = np.array([float(lows[c]) for c in cells])
        self.values, self.known = values, lows  # the published cells' values and lower bounds
        self.rows = [self._row(equation, hidden) for equation in rows]
        self._warm: highspy.Highs | None = None  # the model of `_maximise`, made on first use
        self.costs = np.zeros(len(cells))

    def _row(self, equation: Equation, hidden: set[int]) -> _Row:
        """The equation over the block's columns."""
        coefficients: dict[int, float] = defaultdict(float)
        published = []
        for cell, sign in _signed(equation):
            if cell in hidden:
                coefficients[self.position[cell]] += sign
            else:
                published.append((cell, sign))
        return _Row(-sum(sign * self.values[cell] for cell, sign in published),
                    np.array(list(coefficients), dtype=np.int32),
                    np.array(list(coefficients.values())), tuple(published))

    def _model(self) -> highspy.Highs:
        _silence_banner()
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        n = len(self.lows)
        highs.addVars(n, self.lows, np.full(n, _LARGE))
        highs.changeObjectiveSense(highspy.ObjSense.kMaximize)
        for row in self.rows:
            highs.addRow(row.rhs, row.rhs, len(row.columns), row.columns, row.coefficients)
        return highs

    def breaches(self, targets: list[int], values: Sequence[int], min_cell: int, *,
                 exact: bool) -> list[Breach]:
        open_targets, reached = self._not_lifted_together(targets, min_cell)
        if not exact and len(open_targets) > _FEW_SUSPECTS:
            return [Breach(c, int(values[c]), max(int(values[c]), reached[c]))
                    for c in sorted(open_targets)]
        found = []
        for cell in targets:
            if cell not in open_targets:
                continue  # an earlier solution already showed it can reach min_cell
            upper, solution = self._maximise(cell)
            open_targets.discard(cell)
            if upper < min_cell:
                found.append(Breach(cell, int(values[cell]), upper, self._relief()))
            open_targets -= {c for c in open_targets
                             if solution[self.position[c]] >= min_cell - _TOLERANCE}
        return found

    def _not_lifted_together(self, targets: list[int],
                             min_cell: int) -> tuple[set[int], dict[int, int]]:
        """The targets that no joint solution lifts to min_cell, found with few LPs, and the
        value each reached in the last solution that held it.

        One LP per pass maximises the sum of min(x_c, min_cell) over the targets left
        (y_c <= x_c, 0 <= y_c <= min_cell): every target it lifts to min_cell is safe, since
        that solution is feasible. Passes repeat on the rest while they lift a fair share.
        """
        left, reached = set(targets), {c: 0 for c in targets}
        while left:
            ordered = sorted(left)
            n, k = len(self.lows), len(ordered)
            highs = self._model()
            highs.addVars(k, np.zeros(k), np.full(k, float(min_cell)))
            highs.changeColsCost(k, np.arange(n, n + k, dtype=np.int32), np.ones(k))
            for j, cell in enumerate(ordered):
                highs.addRow(-highspy.kHighsInf, 0.0, 2,
                             np.array([n + j, self.position[cell]], dtype=np.int32),
                             np.array([1.0, -1.0]))
            highs.run()
            if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return left, reached  # each target's own LP decides
            solution = highs.getSolution().col_value
            reached.update({c: int(np.floor(solution[self.position[c]] + _TOLERANCE))
                            for c in ordered})
            lifted = {c for c in ordered if reached[c] >= min_cell}
            left -= lifted
            if len(lifted) < _SCREEN_MIN_SHARE * len(ordered):
                break  # the tail lifts a few per LP: leave it to the caller
        return left, reached

    def _relief(self) -> tuple[tuple[int, float], ...]:
        """The published cells of the rows binding the last `_maximise`, with the most each
        can add to its bound: a published value is a constant of its rows, and the rows' duals
        give the bound's rate of change in it (up without limit, or down to its lower bound)."""
        assert self._warm is not None, "relief is read from the solved model"
        duals = np.asarray(self._warm.getSolution().row_dual)
        rates: dict[int, float] = defaultdict(float)
        for row in np.flatnonzero(np.abs(duals) > _TOLERANCE):
            for cell, sign in self.rows[row].published:
                rates[cell] -= sign * duals[row]
        gains = {cell: np.inf if rate > _TOLERANCE
                 else -rate * (self.values[cell] - self.known[cell])
                 for cell, rate in rates.items()}
        return tuple((cell, gain) for cell, gain in gains.items() if gain > _TOLERANCE)

    def _maximise(self, cell: int) -> tuple[int, np.ndarray]:
        self.costs[:] = 0.0
        self.costs[self.position[cell]] = 1.0
        if self._warm is None:
            self._warm = self._model()
            self._warm.setOptionValue("presolve", "off")  # warm starts across objectives
        highs, n = self._warm, len(self.costs)
        highs.changeColsCost(n, np.arange(n, dtype=np.int32), self.costs)
        highs.run()
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            # A warm start can stall on these degenerate LPs: solve this one from scratch.
            highs.clearSolver()
            highs.setOptionValue("presolve", "on")
            highs.run()
            highs.setOptionValue("presolve", "off")
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"the audit's LP for cell {cell} ended with "
                               f"{highs.modelStatusToString(highs.getModelStatus())}: "
                               "the published cells contradict the equations")
        solution = np.array(highs.getSolution().col_value)
        return int(np.floor(solution[self.position[cell]] + _TOLERANCE)), solution


def _signed(equation: Equation) -> Iterable[tuple[int, float]]:
    """The equation's cells with their coefficient in total - sum(parts) = 0."""
    yield equation.total, 1.0
    for part in equation.parts:
        yield part, -1.0


def _components(rows: list[Equation], cells: list[int],
                column: dict[int, int]) -> list[tuple[list[int], list[Equation]]]:
    """Hidden cells linked through equations, with the equations of each block."""
    edges = [(r, column[c]) for r, eq in enumerate(rows) for c in eq.cells if c in column]
    n_rows, n_cells = len(rows), len(cells)
    row_index = np.array([e[0] for e in edges], dtype=np.int64)
    cell_index = np.array([e[1] for e in edges], dtype=np.int64) + n_rows
    size = n_rows + n_cells
    graph = coo_matrix((np.ones(len(edges)), (row_index, cell_index)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    blocks: dict[int, tuple[list[int], list[Equation]]] = defaultdict(lambda: ([], []))
    for position, cell in enumerate(cells):
        blocks[labels[n_rows + position]][0].append(cell)
    for r, equation in enumerate(rows):
        blocks[labels[r]][1].append(equation)
    return list(blocks.values())


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
