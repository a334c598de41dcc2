"""The audit's linear programmes: one connected block of hidden cells at a time.

A block's hidden cells are the LP's columns (each at least its known lower bound), its
equations the rows (published cells moved to the right-hand side); maximising one hidden
cell gives the largest value consistent with what is published. `Bounds` keeps one HiGHS
model warm across the block's objectives and reads, from the row duals, which published
cells bind a bound (the relief a repair can hide).
"""

from __future__ import annotations

import functools
import os
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

_LARGE = 1e12  # upper bound of every hidden cell: keeps each LP bounded
_TOLERANCE = 1e-6  # an LP bound this close to an integer is that integer
_SCREEN_MIN_SHARE = 0.05  # a screening pass lifting fewer of the targets left is the last
_FEW_SUSPECTS = 50  # a screen leaving no more suspects in a block has each one solved exactly
# `_maximise` changes only the objective between solves, so the last optimal basis stays
# primal feasible: primal simplex goes on from it (dual simplex, HiGHS's default, would
# start over from a dual infeasible basis), without presolve, which would discard it.
_WARM: dict[str, str | int] = {"presolve": "off", "simplex_strategy": 4}
_FROM_SCRATCH: dict[str, str | int] = {"presolve": "on", "simplex_strategy": 1}


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


class Bounds:
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

    def breaches(self, targets: list[int], min_cell: int, *, exact: bool) -> list[Breach]:
        values = self.values
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
            _set_options(self._warm, _WARM)
        highs, n = self._warm, len(self.costs)
        highs.changeColsCost(n, np.arange(n, dtype=np.int32), self.costs)
        highs.run()
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            # A warm start can stall on these degenerate LPs: solve this one from scratch.
            highs.clearSolver()
            _set_options(highs, _FROM_SCRATCH)
            highs.run()
            _set_options(highs, _WARM)
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"the audit's LP for cell {cell} ended with "
                               f"{highs.modelStatusToString(highs.getModelStatus())}: "
                               "the published cells contradict the equations")
        solution = np.array(highs.getSolution().col_value)
        return int(np.floor(solution[self.position[cell]] + _TOLERANCE)), solution


def _set_options(highs: highspy.Highs, options: dict[str, str | int]) -> None:
    for name, value in options.items():
        highs.setOptionValue(name, value)


def _signed(equation: Equation) -> Iterable[tuple[int, float]]:
    """The equation's cells with their coefficient in total - sum(parts) = 0."""
    yield equation.total, 1.0
    for part in equation.parts:
        yield part, -1.0


def components(rows: list[Equation], cells: list[int],
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
