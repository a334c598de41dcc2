"""Budget-optimal selection: per decision unit, the items that cover the most under a cap.

A threshold scheme takes every item used often enough, whatever it costs; a committee with
a budget wants the set that covers the most visits (or a weighted score) for the money.
That is a 0/1 knapsack, solved here exactly by dynamic programming rather than by a MIP
solver: one DP table over capacities 0..max cap answers every cap of a unit at once (the
frontier of 20 caps costs one pass), it is exact on the rounded costs with no solver
tolerance or time limit, and it needs no new dependency. Costs are rounded up to a cost
unit, so a chosen set's true cost never exceeds its cap; the unit grows with the largest
cap of the unit so the table has at most `max_capacity` columns.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from catalogbridge.columns import AMOUNT_TYPE, amount, pct
from catalogbridge.names import THERAPEUTIC
from catalogbridge.settings import SettingError, check_choice

CAP_KINDS = ("fraction", "yuan")
CRITERIA = ("visits", "fee_per_visit", "therapeutic")
MAX_FRACTION = 10.0
MIN_COLUMNS = 100  # the smallest knapsack table
# A tenth of the scheme-1 spend: the step the plateau rule measures slopes in.
PLATEAU_STEP = 0.1
FRONTIER_COLUMNS = ("cap_index", "cap", "cost_unit", "item_count", "visits", "spend", "value",
                    "visits_pct", "spend_pct", "plateau")
FRONTIER, SCHEME = "frontier", "scheme"  # what a cap is: a frontier cap or a scheme's spend
_SOLVED = StructType([
    StructField("cap_of", StringType()), StructField("cap_index", LongType()),
    StructField("cap", DoubleType()), StructField("base_spend", AMOUNT_TYPE),
    StructField("base_visits", LongType()),
    StructField("cost_unit", DoubleType()), StructField("item_count", LongType()),
    StructField("visits", LongType()), StructField("spend", AMOUNT_TYPE),
    StructField("value", DoubleType()), StructField("chosen", ArrayType(StringType())),
    StructField("plateau", BooleanType()),
])


@dataclass(frozen=True)
class SelectionSettings:
    """The budget caps and what an item is worth (conf `decision.selection`).

    `caps`: ascending; fractions of the unit's scheme-1 spend (`cap_kind: fraction`) or
    yuan. `cost_unit`: the yuan costs are rounded up to; a multiple of it when the largest
    cap would need more than `max_capacity` of them. `weights`: an item's value is the
    weighted sum of its visits, fee per visit and being therapeutic, each divided by its
    maximum within the unit (the default: visits alone).
    `plateau_share`: the plateau is where every further 10 % of spend buys less than this
    share of the scheme-1 visits.
    """

    enabled: bool = True
    caps: list[float] = field(default_factory=lambda: [round(0.05 * i, 2) for i in range(1, 21)])
    cap_kind: str = "fraction"
    cost_unit: float = 1.0
    max_capacity: int = 100_000
    columns_per_item: int = 1000
    weights: dict[str, float] = field(
        default_factory=lambda: {"visits": 1.0, "fee_per_visit": 0.0, "therapeutic": 0.0})
    plateau_share: float = 0.05

    def __post_init__(self) -> None:
        check_choice("cap_kind", self.cap_kind, CAP_KINDS)
        if self.enabled and not self.caps:
            raise SettingError("caps", "give at least one cap or set enabled: false")
        if any(c <= 0 for c in self.caps):
            raise SettingError("caps", f"every cap must be > 0, got {self.caps}")
        if self.cap_kind == "fraction" and max(self.caps, default=0) > MAX_FRACTION:
            raise SettingError("caps", f"fractions of the scheme-1 spend go up to {MAX_FRACTION:g}; "
                                       f"for amounts in yuan set cap_kind: yuan, got {self.caps}")
        if sorted(set(self.caps)) != self.caps:
            raise SettingError("caps", f"list distinct caps in ascending order, got {self.caps}")
        if self.cost_unit <= 0:
            raise SettingError("cost_unit", f"must be > 0 yuan, got {self.cost_unit}")
        if self.max_capacity < MIN_COLUMNS:
            raise SettingError("max_capacity", f"must be >= {MIN_COLUMNS} cost units, got "
                                               f"{self.max_capacity}")
        if self.columns_per_item < 1:
            raise SettingError("columns_per_item", f"must be >= 1, got {self.columns_per_item}")
        for name, weight in self.weights.items():
            if name not in CRITERIA:
                raise SettingError(f"weights.{name}", f"unknown criterion; use {', '.join(CRITERIA)}")
            if weight < 0:
                raise SettingError(f"weights.{name}", f"must be >= 0, got {weight}")
        if not any(self.weights.values()):
            raise SettingError("weights", "give at least one criterion a weight > 0")
        if not 0 < self.plateau_share <= 1:
            raise SettingError("plateau_share", f"must be in (0, 1], got {self.plateau_share}")


def knapsack(costs: np.ndarray, values: np.ndarray, capacities: Sequence[int]) -> list[np.ndarray]:
    """The chosen items (a boolean mask) for each capacity: the most value within it.

    One pass over the items, vectorised over capacities 0..max and updated in place; a bit
    per (item, capacity from its cost up) records whether the item was taken, so every
    capacity is read back from one table. Ties in value (within 1e-9 of the total) go to
    the cheaper set, then to leaving out later items, so the result depends only on the
    order of the items.
    """
    costs = np.asarray(costs, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    if costs.shape != values.shape or (costs < 0).any() or (values < 0).any() or \
            any(c < 0 for c in capacities):
        raise ValueError("costs and values: one per item, costs, values and capacities >= 0")
    top = max(capacities, default=0)
    best = np.zeros(top + 1)
    spent = np.zeros(top + 1, dtype=np.int64)
    tie = 1e-9 * float(values.sum())
    # Row i holds the bits of capacities cost_i..top (bit k: capacity cost_i + k).
    taken = np.zeros((len(costs), (top + 8) // 8), dtype=np.uint8)
    with_value, gain = np.empty(top + 1), np.empty(top + 1)
    with_cost = np.empty(top + 1, dtype=np.int64)
    better, close = np.empty(top + 1, dtype=bool), np.empty(top + 1, dtype=bool)
    for i, (cost, value) in enumerate(zip(costs, values, strict=True)):
        if cost > top or value <= 0:  # never fits, or adds nothing
            continue
        n = top + 1 - cost  # capacities cost..top; buffers reused, tables updated in place
        v, c, g, b, t = with_value[:n], with_cost[:n], gain[:n], better[:n], close[:n]
        np.add(best[:n], value, out=v)
        np.add(spent[:n], cost, out=c)
        np.subtract(v, best[cost:], out=g)
        np.greater(g, tie, out=b)
        np.greater_equal(g, -tie, out=t)
        t &= c < spent[cost:]
        b |= t
        packed = np.packbits(b)
        taken[i, :len(packed)] = packed
        np.copyto(best[cost:], v, where=b)
        np.copyto(spent[cost:], c, where=b)
    masks = []
    for capacity in capacities:
        chosen, left = np.zeros(len(costs), dtype=bool), int(capacity)
        for i in range(len(costs) - 1, -1, -1):
            bit = left - int(costs[i])
            if bit >= 0 and taken[i, bit >> 3] >> (7 - (bit & 7)) & 1:
                chosen[i] = True
                left = bit
        masks.append(chosen)
    return masks


def frontier_plateau(spend_fraction: Sequence[float] | np.ndarray,
                     visits_fraction: Sequence[float] | np.ndarray, share: float) -> int | None:
    """The first point past which every step buys less than `share` visits per 10 % of spend.

    A step's slope is Δvisits_fraction / (Δspend_fraction / 0.1); a step that adds visits
    without adding spend is steep. None when the last step is still steep (or there is none).
    """
    d_spend, d_visits = np.diff(spend_fraction), np.diff(visits_fraction)
    steep = (d_visits > 0) & (d_visits >= share * d_spend / PLATEAU_STEP)
    last_steep = int(np.flatnonzero(steep)[-1]) + 1 if steep.any() else 0
    return last_steep if last_steep < len(d_spend) else None


def cost_unit(max_cap: float, items: int, settings: SelectionSettings) -> float:
    """The yuan a DP column stands for: the least multiple of `cost_unit` that keeps the
    largest cap within `columns_per_item` columns per item and `max_capacity` in all.

    Rounding adds less than a unit to each item, so with n items the chosen set's rounded
    cost exceeds its true cost by less than n units = 1 / `columns_per_item` of the largest
    cap: a unit with few items needs a small table, not the largest one."""
    step = settings.cost_unit
    columns = min(settings.max_capacity, max(MIN_COLUMNS, settings.columns_per_item * items))
    return step * max(1, math.ceil(max_cap / (step * columns)))


def in_units(costs: np.ndarray, caps: Sequence[float], unit: float) -> tuple[np.ndarray, list[int]]:
    """Costs rounded up and caps down to whole units: a set that fits costs at most its cap.

    A negative cost (net refunds) counts as free, a negative cap as zero.
    """
    units = np.ceil(np.maximum(np.asarray(costs, dtype=np.float64), 0.0) / unit).astype(np.int64)
    return units, [max(math.floor(c / unit), 0) for c in caps]


def item_values(items: pd.DataFrame, weights: dict[str, float]) -> np.ndarray:
    """Each item's worth: the weighted criteria, each divided by its maximum in the unit."""
    visits = items["visits"].to_numpy(dtype=np.float64)
    cost = items["cost"].to_numpy(dtype=np.float64)
    criteria = {
        "visits": visits,
        "fee_per_visit": np.divide(cost, visits, out=np.zeros_like(cost), where=visits > 0),
        "therapeutic": (items["function"] == THERAPEUTIC).to_numpy(dtype=np.float64),
    }
    total = np.zeros(len(items))
    for name, weight in weights.items():
        top = criteria[name].max(initial=0.0)
        if weight and top > 0:
            total += weight * criteria[name] / top
    return total


def budget_selection(items: DataFrame, *, schemes: DataFrame, keys: Sequence[str],
                     settings: SelectionSettings) -> tuple[DataFrame, DataFrame, DataFrame]:
    """(budget_frontier, optimal_items, scheme_comparison) of every unit: one knapsack table
    per unit answers the frontier's caps and every threshold scheme's spend.

    `items`: `keys`, national_code, function, cost (yuan), visits. `schemes`: `keys`,
    scheme, threshold, item_count, visits, added_spend (the threshold schemes chosen from
    `items`); scheme 1 is the baseline that fraction caps, percentages and the plateau refer
    to. Units without items get zero rows.

    budget_frontier: `keys`, cap_index (1..n in `caps` order), cap (yuan), cost_unit, and
    the chosen set's item_count, visits, spend, value (rounded to 6 decimals), visits_pct
    and spend_pct (of the baseline) and plateau (this cap is the unit's plateau point).
    optimal_items: `keys`, cap_index, national_code of every chosen item.
    scheme_comparison: each scheme beside the best set costing no more than its spend. The
    optimiser uses costs rounded up to the cost unit, so the scheme's own set (which costs
    exactly the cap) may not fit; the better of the two is reported, so `extra_visits`
    (optimal minus scheme visits) is never negative.
    All three read one solved frame, cached (the runner clears the cache after the stage).
    """
    base = schemes.where(F.col("scheme") == 1).select(
        *keys, amount(F.col("added_spend")).alias("base_spend"),
        F.col("visits").cast(LongType()).alias("base_visits"))
    scale = F.col("base_spend").cast(DoubleType()) if settings.cap_kind == "fraction" \
        else F.lit(1.0)
    frontier_caps = base.select(*keys, "base_spend", "base_visits", F.posexplode(
        F.array(*[F.lit(float(c)) for c in settings.caps])).alias("_pos", "_cap")).select(
        *keys, F.lit(FRONTIER).alias("cap_of"), (F.col("_pos") + 1).cast(LongType()).alias(
            "cap_index"), (F.col("_cap") * scale).alias("cap"), "base_spend", "base_visits")
    scheme_caps = schemes.select(
        *keys, F.lit(SCHEME).alias("cap_of"), F.col("scheme").alias("cap_index"),
        F.col("added_spend").cast(DoubleType()).alias("cap"),
        F.lit(None).cast(AMOUNT_TYPE).alias("base_spend"),
        F.lit(None).cast(LongType()).alias("base_visits"))
    solved = _solve(items, frontier_caps.unionByName(scheme_caps), keys=keys,
                    settings=settings).cache()
    frontier = solved.where(F.col("cap_of") == FRONTIER)
    measured = frontier.select(
        *keys, *FRONTIER_COLUMNS[:-3],
        pct(F.col("visits"), F.col("base_visits")).alias("visits_pct"),
        pct(F.col("spend"), F.col("base_spend")).alias("spend_pct"), "plateau")
    chosen = frontier.select(*keys, "cap_index", F.explode("chosen").alias("national_code"))
    return measured, chosen, _compared(schemes, solved.where(F.col("cap_of") == SCHEME), keys)


def _compared(schemes: DataFrame, solved: DataFrame, keys: Sequence[str]) -> DataFrame:
    """Each scheme against its solved cap (see `budget_selection`)."""
    optimal = solved.select(*keys, F.col("cap_index").alias("scheme"),
                            F.col("item_count").alias("optimal_items"),
                            F.col("visits").alias("optimal_visits"),
                            F.col("spend").alias("optimal_spend"))
    own = F.col("optimal_visits") < F.col("visits")  # rounding kept the scheme's set out
    return (schemes.join(optimal, [*keys, "scheme"])
            .select(*keys, "scheme", "threshold", F.col("item_count").alias("scheme_items"),
                    F.col("visits").alias("scheme_visits"),
                    amount(F.col("added_spend")).alias("scheme_spend"),
                    F.when(own, F.col("item_count")).otherwise(F.col("optimal_items"))
                    .alias("optimal_items"),
                    F.when(own, F.col("visits")).otherwise(F.col("optimal_visits"))
                    .alias("optimal_visits"),
                    F.when(own, amount(F.col("added_spend"))).otherwise(F.col("optimal_spend"))
                    .alias("optimal_spend"))
            .withColumn("extra_visits", F.col("optimal_visits") - F.col("scheme_visits")))


def _solve(items: DataFrame, caps: DataFrame, *, keys: Sequence[str],
           settings: SelectionSettings) -> DataFrame:
    """Per unit and cap (`caps`: `keys`, cap_of, cap_index, cap in yuan, base_spend,
    base_visits): the chosen set, its sums, and whether a frontier cap is the plateau.

    Items and caps are cogrouped by unit, so each unit's items reach one Python call with
    all its caps; a unit with caps but no items gets empty sets.
    """
    unit_items = items.select(*keys, "national_code", "function",
                              amount(F.col("cost")).alias("cost"),
                              F.col("visits").cast(LongType()).alias("visits"))
    schema = StructType([*[caps.schema[k] for k in keys], *_SOLVED.fields])
    return (unit_items.groupBy(*keys).cogroup(caps.groupBy(*keys))
            .applyInPandas(_unit_solver(keys, settings), schema))


def _unit_solver(keys: Sequence[str], settings: SelectionSettings
                 ) -> Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]:
    """The cogroup function: one knapsack table per unit answers all its caps."""

    def solve(items: pd.DataFrame, caps: pd.DataFrame) -> pd.DataFrame:
        items = items.iloc[np.argsort(items["national_code"].to_numpy(dtype=str), kind="stable")]
        caps = caps.iloc[np.lexsort((caps["cap_index"].to_numpy(), caps["cap_of"].to_numpy(str)))]
        cap = caps["cap"].to_numpy(dtype=np.float64)
        unit = cost_unit(np.max(cap, initial=0.0), len(items), settings)
        costs, capacities = in_units(items["cost"].to_numpy(dtype=np.float64), cap.tolist(), unit)
        values = item_values(items, settings.weights)
        # Rounding up can keep the whole set out of a cap it fits exactly; values are >= 0,
        # so a cap the whole set fits takes it all, and the table need only reach the others.
        fen = np.array([int(c.scaleb(2)) for c in items["cost"]], dtype=np.int64)  # exact
        fits_all = (cap >= fen.sum() / 100).tolist()
        answers = iter(knapsack(costs, values, [c for c, fits in zip(capacities, fits_all,
                                                                     strict=True) if not fits]))
        chosen = np.array([np.ones(len(items), dtype=bool) if fits else next(answers)
                           for fits in fits_all], dtype=bool).reshape(len(caps), len(items))
        # Sums as matrix products (caps x items), the frame built at once: pandas would
        # otherwise copy it per column and inspect every value of the object columns.
        taken = chosen.astype(np.int64)
        spend = taken @ fen
        visits = taken @ items["visits"].to_numpy(dtype=np.int64)
        codes = items["national_code"].to_numpy(dtype=object)
        columns: dict[str, Any] = {name: caps[name].to_numpy() for name in (*keys, *_SOLVED.names[:5])}
        columns.update({
            "cost_unit": np.full(len(caps), float(unit)),
            "item_count": chosen.sum(axis=1),
            "visits": visits,
            "spend": pd.Series([Decimal(int(total)).scaleb(-2) for total in spend], dtype=object),
            "value": np.round(chosen.astype(np.float64) @ values, 6),
            "chosen": pd.Series([codes[row].tolist() for row in chosen], dtype=object),
            "plateau": _plateau(caps, spend / 100, visits, settings.plateau_share),
        })
        return pd.DataFrame(columns)

    return solve


def _plateau(caps: pd.DataFrame, spend: np.ndarray, visits: np.ndarray,
             share: float) -> np.ndarray:
    """Marks the plateau cap among a unit's frontier caps (`caps` ordered by cap_index;
    `spend` in yuan and `visits` of each cap's set)."""
    plateau = np.zeros(len(caps), dtype=bool)
    frontier = np.flatnonzero(caps["cap_of"].to_numpy() == FRONTIER)
    if len(frontier) == 0:
        return plateau
    base_spend = float(caps["base_spend"].iloc[frontier[0]])
    base_visits = float(caps["base_visits"].iloc[frontier[0]])
    if base_spend > 0 and base_visits > 0:
        at = frontier_plateau(spend[frontier] / base_spend,
                              visits[frontier].astype(np.float64) / base_visits, share)
        if at is not None:
            plateau[frontier[at]] = True
    return plateau
