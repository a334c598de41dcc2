"""Cells linked by published sums (`disclosure.Equation`): the equations of each cell, and
the breadth-first search for the nearest published cell that a repair of suppression hides.

A scheme total links thousands of cells, and late in suppression most of a region's cells
are hidden, so a search in Python walked the whole region for every breach (quadratic in
its cells); here a search runs a level at a time on sparse incidence matrices in NumPy.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix


class Links:
    """Which equations each cell is in and which cells each equation has (lists, and sparse
    incidence matrices for the search)."""

    def __init__(self, equations: Sequence[Sequence[int]], n: int) -> None:
        """`equations[i]`: the cells of equation i (its total and parts); `n` cells."""
        self.by_cell: list[list[int]] = [[] for _ in range(n)]
        for index, cells in enumerate(equations):
            for cell in cells:
                self.by_cell[cell].append(index)
        widths = [len(cells) for cells in equations]
        rows = np.repeat(np.arange(len(equations)), widths)
        columns = np.fromiter(itertools.chain.from_iterable(equations), dtype=np.int64,
                              count=sum(widths))
        incidence = csr_matrix((np.ones(len(columns), dtype=np.int8), (rows, columns)),
                               shape=(len(equations), n))
        self._cells_of = incidence  # row: an equation's cells
        self._equations_of = incidence.T.tocsr()  # row: a cell's equations

    def nearest_published(self, cell: int, is_hidden: np.ndarray) -> list[int]:
        """The published cells of the equations nearest to `cell` that have any, found
        breadth first through hidden cells; ascending, empty when none is linked."""
        seen_cells = np.zeros(len(is_hidden), dtype=bool)
        seen_equations = np.zeros(self._cells_of.shape[0], dtype=bool)
        seen_cells[cell] = True
        frontier = np.array([cell])
        while frontier.size:
            reached = _rows_of(self._equations_of, frontier, seen_equations)
            seen_equations[reached] = True
            cells = _rows_of(self._cells_of, reached)
            published = cells[~is_hidden[cells]]
            if published.size:
                return [int(c) for c in published]
            frontier = cells[~seen_cells[cells]]
            seen_cells[frontier] = True
        return []


def _rows_of(matrix: csr_matrix, rows: np.ndarray, skip: np.ndarray | None = None) -> np.ndarray:
    """The columns present in any of `rows` of a CSR matrix, ascending, less those `skip`
    marks: slices of its index array gathered at once, then marked (no sort)."""
    starts, ends = matrix.indptr[rows], matrix.indptr[rows + 1]
    lengths = ends - starts
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    present = np.zeros(matrix.shape[1], dtype=bool)
    present[matrix.indices[offsets + np.arange(lengths.sum())]] = True
    if skip is not None:
        present &= ~skip
    return np.flatnonzero(present)
