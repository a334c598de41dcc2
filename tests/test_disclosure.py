"""Small-cell suppression and its audit on hand-made tables (no Spark)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from catalogbridge.privacy.disclosure import (
    Breach,
    Equation,
    _relieving_cell,
    audit,
    primary_cells,
    suppress,
)
from catalogbridge.privacy.links import Links


def grid(rows: list[list[int]]) -> tuple[list[int], list[Equation], list[list[int]]]:
    """A table with row, column and grand totals: (values, equations, cell ids of the body)."""
    values: list[int] = []
    body = []
    for row in rows:
        body.append(list(range(len(values), len(values) + len(row))))
        values += row
    equations = []
    row_totals, column_totals = [], []
    for ids in body:
        row_totals.append(len(values))
        values.append(sum(values[c] for c in ids))
        equations.append(Equation(row_totals[-1], tuple(ids)))
    for j in range(len(rows[0])):
        ids = [body[i][j] for i in range(len(rows))]
        column_totals.append(len(values))
        values.append(sum(values[c] for c in ids))
        equations.append(Equation(column_totals[-1], tuple(ids)))
    values.append(sum(values[c] for c in row_totals))
    equations.append(Equation(len(values) - 1, tuple(row_totals)))
    equations.append(Equation(len(values) - 1, tuple(column_totals)))
    return values, equations, body


def test_primary_cells_are_one_to_threshold_minus_one_not_zero() -> None:
    assert primary_cells([0, 1, 10, 11, 500], 11) == {1, 2}


def test_primary_only_suppression_is_broken_by_the_row_total() -> None:
    # total 30 = a 5 + b 25: hiding a alone leaves a = 30 - 25.
    values, equations = [30, 5, 25], [Equation(0, (1, 2))]
    assert audit(values, equations, {1}, min_cell=11) == [Breach(cell=1, value=5, upper=5)]
    result = suppress(values, equations, min_cell=11)
    assert (result.primary, result.complementary) == ({1}, {2})
    assert audit(values, equations, result.hidden, min_cell=11) == []


def test_two_small_cells_in_a_row_need_a_third() -> None:
    # 14 = 3 + 4 + 7: hiding 3 and 4 shows they sum to 7, so each is at most 7.
    values, equations = [14, 3, 4, 7], [Equation(0, (1, 2, 3))]
    assert audit(values, equations, {1, 2}, min_cell=11) == [Breach(1, 3, 7), Breach(2, 4, 7)]
    result = suppress(values, equations, min_cell=11)
    assert result.hidden == {1, 2, 3}
    assert audit(values, equations, result.hidden, min_cell=11) == []


def test_two_by_two_with_margins_hides_the_rectangle() -> None:
    values, equations, body = grid([[3, 20], [15, 12]])
    result = suppress(values, equations, min_cell=11)
    assert result.primary == {body[0][0]}
    assert result.complementary == {body[0][1], body[1][0], body[1][1]}
    # a = 3 can be anything up to min(row 23, column 18) once the rectangle is hidden.
    assert audit(values, equations, result.hidden, min_cell=11) == []
    assert audit(values, equations, {body[0][0], body[0][1], body[1][0]}, min_cell=11) == \
        [Breach(body[0][0], 3, 3)]


def test_the_audit_finds_what_no_single_equation_shows() -> None:
    # Three totals over x=3, y=20, z=25 in a triangle: each equation alone hides enough
    # (23, 45 and 28 beside the published part), together they solve x = (23 - 45 + 28) / 2.
    values = [3, 20, 25, 30, 40, 50, 53, 85, 78]
    equations = [Equation(6, (0, 1, 3)), Equation(7, (1, 2, 4)), Equation(8, (0, 2, 5))]
    assert audit(values, equations, {0, 1, 2}, min_cell=11) == [Breach(0, 3, 3)]
    result = suppress(values, equations, min_cell=11)
    assert audit(values, equations, result.hidden, min_cell=11) == []
    assert result.primary == {0}


def test_a_published_lower_bound_narrows_the_range() -> None:
    # 14 = a 3 + b 11; everyone knows b >= 4 (say, four listed items of at least one visit).
    values, equations = [14, 3, 11], [Equation(0, (1, 2))]
    assert audit(values, equations, {1, 2}, min_cell=11) == []
    assert audit(values, equations, {1, 2}, min_cell=11, lower=[0, 0, 4]) == [Breach(1, 3, 10)]
    result = suppress(values, equations, min_cell=11, lower=[0, 0, 4])
    assert result.hidden == {0, 1, 2}
    assert audit(values, equations, result.hidden, min_cell=11, lower=[0, 0, 4]) == []


def test_an_exact_breach_names_the_published_cells_that_bind_it() -> None:
    # A 28 = a 3 + b 20 + P 5 with b >= 15 known: a <= 28 - 15 - 5 = 8. Raising A or
    # lowering P (to 0: by 5 at most) lifts a; S 15 = a + c 12 does not bind (a <= 15 there).
    a_total, a, b, p, s, c = range(6)
    values = [28, 3, 20, 5, 15, 12]
    equations = [Equation(a_total, (a, b, p)), Equation(s, (a, c))]
    lower = [0, 0, 15, 0, 0, 0]
    breaches = audit(values, equations, {a, b, c}, min_cell=11, lower=lower)
    assert breaches == [Breach(a, 3, 8)]
    assert dict(breaches[0].relief) == {a_total: np.inf, p: 5.0}


@pytest.mark.parametrize(("need", "already_hidden", "chosen"), [
    (3, set(), 3),  # P's 5 covers the need and is smaller than A
    (6, set(), 0),  # only A (no limit) covers it
    (6, {0}, 3),  # A hidden by an earlier repair this round: the one relieving most
    (6, {0, 3}, None),  # nothing left: the next audit tells whether the breach is mended
])
def test_a_breach_is_repaired_by_the_smallest_binding_cell_that_covers_it(
        need: int, already_hidden: set[int], chosen: int | None) -> None:
    values = [28, 3, 20, 5]
    breach = Breach(1, 3, 11 - need, relief=((0, np.inf), (3, 5.0)))
    is_hidden = np.zeros(len(values), dtype=bool)
    is_hidden[list(already_hidden)] = True
    assert _relieving_cell(values, breach, is_hidden, 11) == chosen


def test_large_cells_are_left_alone() -> None:
    values, equations, _ = grid([[120, 340], [56, 11]])
    result = suppress(values, equations, min_cell=11)
    assert result.hidden == set()


def test_zero_cells_are_published_and_threshold_one_hides_nothing() -> None:
    values, equations, _ = grid([[0, 4], [7, 0]])
    assert suppress(values, equations, min_cell=1).hidden == set()
    assert 0 not in {values[c] for c in suppress(values, equations, min_cell=11).primary}


@pytest.mark.parametrize("seed", range(12))
def test_random_tables_pass_the_audit_and_primary_only_ones_mostly_fail(seed: int) -> None:
    rng = random.Random(seed)
    shape = (rng.randint(2, 6), rng.randint(2, 6))
    rows = [[rng.choice([0, rng.randint(1, 10), rng.randint(11, 300)]) for _ in range(shape[1])]
            for _ in range(shape[0])]
    values, equations, _ = grid(rows)
    result = suppress(values, equations, min_cell=11)
    assert result.primary == primary_cells(values, 11)
    assert audit(values, equations, result.hidden, min_cell=11) == []


def test_primary_only_suppression_is_breakable_in_most_random_tables() -> None:
    rng = random.Random(7)
    broken = 0
    for _ in range(40):
        rows = [[rng.choice([rng.randint(1, 10), rng.randint(11, 300)]) for _ in range(4)]
                for _ in range(3)]
        values, equations, _ = grid(rows)
        broken += bool(audit(values, equations, primary_cells(values, 11), min_cell=11))
    assert broken >= 30


def test_a_large_table_with_many_small_cells_passes_the_exact_audit() -> None:
    # 1,600 body cells, about a third of them 1..10: one block of hundreds of primaries, the
    # case where suppression screens them with joint LPs instead of one LP each.
    rng = random.Random(11)
    rows = [[rng.choice([rng.randint(1, 10), rng.randint(11, 60), rng.randint(11, 400)])
             for _ in range(40)] for _ in range(40)]
    values, equations, body = grid(rows)
    result = suppress(values, equations, min_cell=11)
    assert len(result.primary) > 400
    assert audit(values, equations, result.hidden, min_cell=11) == []
    published = {c for row in body for c in row} - result.hidden
    assert len(published) > 200, "large cells stay published"


@pytest.mark.parametrize("seed", range(6))
def test_hiding_one_more_cell_never_narrows_a_bound(seed: int) -> None:
    # Why suppression need not re-solve a cell once shown safe: the earlier solution stays
    # feasible, so each cell's largest consistent value can only grow.
    rng = random.Random(seed)
    rows = [[rng.choice([rng.randint(1, 10), rng.randint(11, 80)]) for _ in range(5)]
            for _ in range(4)]
    values, equations, body = grid(rows)
    hidden = primary_cells(values, 11)
    before = {b.cell: b.upper for b in audit(values, equations, hidden, min_cell=11)}
    extra = rng.choice(sorted({c for row in body for c in row} - hidden))
    after = {b.cell: b.upper for b in audit(values, equations, hidden | {extra}, min_cell=11)}
    assert set(after) <= set(before)
    assert all(after[c] >= before[c] for c in after)


@pytest.mark.parametrize(("hidden", "nearest"), [
    ({1}, [0, 2]),  # the breached cell's own equation has published cells
    ({0, 1, 2}, [3, 4]),  # through hidden cell 2 into the next equation
    ({0, 1, 2, 3, 4}, [5]),  # two equations further
    ({0, 1, 2, 3, 4, 5}, []),  # everything linked is hidden
])
def test_nearest_published_cells_breadth_first(hidden: set[int], nearest: list[int]) -> None:
    """Cells 0..6: 0 = 1 + 2, 2 = 3 + 4, 4 = 5; cell 6 is in no equation."""
    links = Links([(0, 1, 2), (2, 3, 4), (4, 5)], 7)
    is_hidden = np.zeros(7, dtype=bool)
    is_hidden[list(hidden)] = True
    assert links.nearest_published(1, is_hidden) == nearest
    assert links.by_cell[2] == [0, 1]
    assert links.nearest_published(6, is_hidden) == []
