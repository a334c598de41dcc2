"""Budget-optimal selection: the DP against brute force, the plateau rule, and hand-computed
frontiers and scheme comparisons.

The Spark case: Zhejiang (330000) lacks A (100 yuan, 10 visits), B (60, 7), C (50, 6) and
D (300, 2); Jiangsu (320000) lacks E (40.50, 5), F (30.20, 4) and G (30.20, 4); Shanghai
(310000) lacks nothing. Costs are rounded up to whole yuan (E 41, F and G 31 each).
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal

import numpy as np
import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from catalogbridge.decisions.selection import (
    SelectionSettings,
    budget_selection,
    cost_unit,
    frontier_plateau,
    in_units,
    knapsack,
)
from catalogbridge.settings import SettingError

D = Decimal
ZJ, JS, SH = "330000", "320000", "310000"
KEYS = ("insured_admdvs",)
ITEM_SCHEMA = ("insured_admdvs string, national_code string, function string, "
               "cost decimal(22,2), visits long")
FRONTIER_SCHEMA = (
    "insured_admdvs string, cap_index long, cap double, cost_unit double, item_count long, "
    "visits long, spend decimal(22,2), value double, visits_pct double, spend_pct double, "
    "plateau boolean")
CHOSEN_SCHEMA = "insured_admdvs string, cap_index long, national_code string"


def brute_force(costs: np.ndarray, values: np.ndarray, capacity: int) -> tuple[float, int]:
    """(most value, least cost at that value) over every subset within the capacity."""
    best = (0.0, 0)
    for take in itertools.product((False, True), repeat=len(costs)):
        mask = np.array(take, dtype=bool)
        cost, value = int(costs[mask].sum()), float(values[mask].sum())
        if cost <= capacity and (value > best[0] + 1e-9
                                 or (value >= best[0] - 1e-9 and cost < best[1])):
            best = (value, cost)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_knapsack_matches_brute_force(seed: int) -> None:
    """Random instances of up to 14 items, half with small integer values (many ties, zero
    values), costs including zero, capacities from none to more than everything."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 15))
    costs = rng.integers(0, 20, n)
    values = (rng.integers(0, 4, n).astype(float) if seed % 2 else rng.random(n))
    capacities = [0, 5, int(costs.sum()) // 2, int(costs.sum()), int(costs.sum()) + 7]
    for capacity, mask in zip(capacities, knapsack(costs, values, capacities), strict=True):
        value, cost = brute_force(costs, values, capacity)
        assert costs[mask].sum() <= capacity
        assert values[mask].sum() == pytest.approx(value, abs=1e-9)
        assert costs[mask].sum() == cost  # ties go to the cheaper set


def test_knapsack_ties_and_items_that_never_fit() -> None:
    """Equal value and cost: the earlier item; too dear for any capacity: never taken."""
    masks = knapsack(np.array([3, 3, 50, 0]), np.array([1.0, 1.0, 9.0, 0.0]), [2, 3, 6])
    assert [m.tolist() for m in masks] == [[False, False, False, False],
                                          [True, False, False, False],
                                          [True, True, False, False]]


def test_knapsack_rejects_negative_costs() -> None:
    with pytest.raises(ValueError, match="costs and values"):
        knapsack(np.array([-1]), np.array([1.0]), [3])


@pytest.mark.parametrize("seed", range(6))
def test_rounding_up_keeps_the_true_cost_within_the_cap(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    yuan = np.round(rng.random(12) * 80, 2)
    caps = [float(c) for c in np.round(rng.random(4) * yuan.sum(), 2)]
    unit = [0.01, 0.3, 1.0, 7.0, 0.07, 2.5][seed]
    costs, capacities = in_units(yuan, caps, unit)
    for cap, mask in zip(caps, knapsack(costs, rng.random(12), capacities), strict=True):
        assert yuan[mask].sum() <= cap


def test_the_cost_unit_bounds_the_table() -> None:
    settings = SelectionSettings(cost_unit=0.5, max_capacity=1000, columns_per_item=100)
    assert cost_unit(0.0, 20, settings) == 0.5
    assert cost_unit(400.0, 20, settings) == 0.5     # 800 columns
    assert cost_unit(500.0, 20, settings) == 0.5     # 1000 columns
    assert cost_unit(2600.0, 20, settings) == 3.0    # 2.6 yuan a column, up to 6 half yuan
    # 3 items: 300 columns at most (rounding < 3 units = 1 % of the cap)
    assert cost_unit(400.0, 3, settings) == 1.5      # 1.33 yuan a column, up to 3 half yuan
    assert cost_unit(400.0, 0, settings) == 4.0      # never fewer than 100 columns
    assert in_units(np.array([2500.0]), [2500.0], 3.0) == (np.array([834]), [833])


@pytest.mark.parametrize(("spend", "visits", "plateau"), [
    # 30 % of visits for the second 10 % of spend, then 2, 1 and 0.5 %: the knee is point 1
    ([0.1, 0.2, 0.3, 0.4, 0.5], [0.5, 0.8, 0.82, 0.83, 0.835], 1),
    # 10 % of visits for every 10 % of spend: never flattens
    ([0.1, 0.2, 0.3, 0.4, 0.5], [0.1, 0.2, 0.3, 0.4, 0.5], None),
    # flat from the first point: 1 % per 10 %, then nothing
    ([0.2, 0.4, 0.6, 0.8], [0.9, 0.92, 0.92, 0.93], 0),
    # flattens, steepens again (0.3 per 0.2 of spend), then flattens for good: point 3
    ([0.1, 0.2, 0.4, 0.6, 1.0], [0.5, 0.51, 0.52, 0.82, 0.84], 3),
    # visits with no added spend count as steep
    ([0.1, 0.2, 0.2, 0.5], [0.5, 0.51, 0.6, 0.61], 2),
    ([0.5], [0.9], None),
])
def test_frontier_plateau(spend: list[float], visits: list[float], plateau: int | None) -> None:
    assert frontier_plateau(spend, visits, 0.05) == plateau


@pytest.fixture(scope="module")
def items(spark: SparkSession) -> DataFrame:
    t = "therapeutic"
    return spark.createDataFrame([
        (ZJ, "A", t, D("100.00"), 10), (ZJ, "B", t, D("60.00"), 7), (ZJ, "C", t, D("50.00"), 6),
        (ZJ, "D", t, D("300.00"), 2),
        (JS, "E", t, D("40.50"), 5), (JS, "F", t, D("30.20"), 4), (JS, "G", t, D("30.20"), 4),
    ], ITEM_SCHEMA)


SCHEME_SCHEMA = ("insured_admdvs string, scheme long, threshold long, item_count long, "
                 "visits long, added_spend decimal(22,2)")


@pytest.fixture(scope="module")
def baseline(spark: SparkSession) -> DataFrame:
    """Scheme 1 of each unit: every item (Shanghai has none)."""
    return spark.createDataFrame(
        [(ZJ, 1, 0, 4, 25, D("510.00")), (JS, 1, 0, 3, 13, D("100.90")),
         (SH, 1, 0, 0, 0, D("0.00"))], SCHEME_SCHEMA)


def test_frontier_per_unit_and_cap(spark: SparkSession, items: DataFrame,
                                   baseline: DataFrame) -> None:
    """Caps at 25, 50 and 100 % of scheme-1 spend.

    Zhejiang: 127.50 yuan buys B + C (13 visits, 110 yuan; A alone: 10), 255 buys A + B + C
    (23, 210), 510 everything. The plateau is cap 2: the last step adds 8 % of the visits
    for 59 % of the spend (1.4 % per 10 %). Jiangsu: 25.22 buys nothing, 50.45 buys E;
    100.90 does not buy all three (103 yuan rounded up) but E and F (F before G on a tie):
    still 30 % of the visits for 30 % of the spend, no plateau. Shanghai: zeros."""
    settings = SelectionSettings(caps=[0.25, 0.5, 1.0])
    frontier, chosen, _ = budget_selection(items, schemes=baseline, keys=KEYS, settings=settings)
    expected = spark.createDataFrame([
        (ZJ, 1, 127.5, 1.0, 2, 13, D("110.00"), 1.3, 52.0, 21.57, False),
        (ZJ, 2, 255.0, 1.0, 3, 23, D("210.00"), 2.3, 92.0, 41.18, True),
        (ZJ, 3, 510.0, 1.0, 4, 25, D("510.00"), 2.5, 100.0, 100.0, False),
        (JS, 1, 0.25 * 100.9, 1.0, 0, 0, D("0.00"), 0.0, 0.0, 0.0, False),
        (JS, 2, 0.5 * 100.9, 1.0, 1, 5, D("40.50"), 1.0, 38.46, 40.14, False),
        # the whole set costs exactly the cap: 103 rounded up, but it fits and is taken
        (JS, 3, 100.9, 1.0, 3, 13, D("100.90"), 2.6, 100.0, 100.0, False),
        *[(SH, i, 0.0, 1.0, 0, 0, D("0.00"), 0.0, None, None, False) for i in (1, 2, 3)],
    ], FRONTIER_SCHEMA)
    assert_df_equality(frontier, expected, ignore_row_order=True, ignore_nullable=True)
    expected_items = spark.createDataFrame(
        [(ZJ, 1, "B"), (ZJ, 1, "C"), *[(ZJ, 2, c) for c in "ABC"], *[(ZJ, 3, c) for c in "ABCD"],
         (JS, 2, "E"), *[(JS, 3, c) for c in "EFG"]], CHOSEN_SCHEMA)
    assert_df_equality(chosen, expected_items, ignore_row_order=True, ignore_nullable=True)


def test_yuan_caps_and_a_coarser_cost_unit(spark: SparkSession, items: DataFrame,
                                           baseline: DataFrame) -> None:
    """Caps of 150 and 250 yuan with at most 100 columns. The table also answers scheme 1's
    spend (510 yuan, the unit's largest cap): 6 yuan a column (A 102, B 60, C 54).

    At 150 yuan A + C (16 visits, exactly 150) no longer fits (156 rounded): B + C it is."""
    settings = SelectionSettings(caps=[150.0, 250.0], cap_kind="yuan", max_capacity=100)
    frontier, _, _ = budget_selection(items.where(f"insured_admdvs = '{ZJ}'"), keys=KEYS,
                                      schemes=baseline.where(f"insured_admdvs = '{ZJ}'"),
                                      settings=settings)
    expected = spark.createDataFrame([
        (ZJ, 1, 150.0, 6.0, 2, 13, D("110.00"), 1.3, 52.0, 21.57, False),
        (ZJ, 2, 250.0, 6.0, 3, 23, D("210.00"), 2.3, 92.0, 41.18, False),
    ], FRONTIER_SCHEMA)
    assert_df_equality(frontier, expected, ignore_row_order=True, ignore_nullable=True)


def test_schemes_against_the_best_set_for_their_spend(spark: SparkSession,
                                                      items: DataFrame) -> None:
    """Shanghai here lacks H (90 yuan, 9 visits), I (40, 5), J (45, 5) and K (5, 1): its
    scheme 2 (visits >= 9: H) spends 90 yuan on 9 visits, I + J + K give 11 for the same.
    Zhejiang's schemes are already the best for their spend (scheme 2, visits >= 7: A + B,
    17 visits for 160; A + C give 16). Jiangsu shows the rounding: its scheme 1 (all three,
    100.90) costs 103 rounded up but fits its cap as it is; its scheme 2 (E, 40.50, 41
    rounded) would give way to F (4 visits): the scheme's own set is reported instead."""
    t = "therapeutic"
    shanghai = spark.createDataFrame([
        (SH, "H", t, D("90.00"), 9), (SH, "I", t, D("40.00"), 5), (SH, "J", t, D("45.00"), 5),
        (SH, "K", t, D("5.00"), 1)], ITEM_SCHEMA)
    schemes = spark.createDataFrame([
        (ZJ, 1, 0, 4, 25, D("510.00")), (ZJ, 2, 7, 2, 17, D("160.00")),
        (JS, 1, 0, 3, 13, D("100.90")), (JS, 2, 5, 1, 5, D("40.50")),
        (SH, 1, 0, 4, 20, D("180.00")), (SH, 2, 9, 1, 9, D("90.00")),
    ], SCHEME_SCHEMA)
    _, _, got = budget_selection(items.unionByName(shanghai), schemes=schemes, keys=KEYS,
                                 settings=SelectionSettings())
    expected = spark.createDataFrame([
        (ZJ, 1, 0, 4, 25, D("510.00"), 4, 25, D("510.00"), 0),
        (ZJ, 2, 7, 2, 17, D("160.00"), 2, 17, D("160.00"), 0),
        (JS, 1, 0, 3, 13, D("100.90"), 3, 13, D("100.90"), 0),
        (JS, 2, 5, 1, 5, D("40.50"), 1, 5, D("40.50"), 0),
        (SH, 1, 0, 4, 20, D("180.00"), 4, 20, D("180.00"), 0),
        (SH, 2, 9, 1, 9, D("90.00"), 3, 11, D("90.00"), 2),
    ], "insured_admdvs string, scheme long, threshold long, scheme_items long, "
       "scheme_visits long, scheme_spend decimal(22,2), optimal_items long, optimal_visits long, "
       "optimal_spend decimal(22,2), extra_visits long")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"caps": []}, "caps: give at least one cap or set enabled: false"),
    ({"caps": [0.5, 0.0]}, "caps: every cap must be > 0, got [0.5, 0.0]"),
    ({"caps": [0.5, 20.0]}, "caps: fractions of the scheme-1 spend go up to 10"),
    ({"caps": [0.5, 0.25]}, "caps: list distinct caps in ascending order, got [0.5, 0.25]"),
    ({"cap_kind": "percent"}, "cap_kind: 'percent' is not one of fraction, yuan"),
    ({"cost_unit": 0.0}, "cost_unit: must be > 0 yuan, got 0.0"),
    ({"max_capacity": 99}, "max_capacity: must be >= 100 cost units, got 99"),
    ({"columns_per_item": 0}, "columns_per_item: must be >= 1, got 0"),
    ({"weights": {"visit": 1.0}}, "weights.visit: unknown criterion; use visits, fee_per_visit"),
    ({"weights": {"visits": -1.0}}, "weights.visits: must be >= 0, got -1.0"),
    ({"weights": {"visits": 0.0}}, "weights: give at least one criterion a weight > 0"),
    ({"plateau_share": 0.0}, "plateau_share: must be in (0, 1], got 0.0"),
])
def test_bad_selection_settings_name_the_key_and_the_fix(kwargs: dict[str, object],
                                                        message: str) -> None:
    with pytest.raises(SettingError, match=re.escape(message)):
        SelectionSettings(**kwargs)  # type: ignore[arg-type]


def test_default_settings() -> None:
    settings = SelectionSettings()
    assert settings.caps[:3] == [0.05, 0.1, 0.15] and settings.caps[-1] == 1.0
    assert len(settings.caps) == 20
    assert SelectionSettings(enabled=False, caps=[]).caps == []
