"""The published tables: the exact tables with hidden cells shown as `privacy.mark`.

`disclosure_cells` suppresses each insured region's cells (`publication.cells`) in one
`applyInPandas` group (bounded by that region's discrepant items, never the national
table), each region in a task of its own, the largest first (`io.grouping`); the published
copies join the hidden cells back onto the exact tables. A hidden visit count hides its fee,
and a percentage is hidden when its numerator or denominator is, since either one and the
percentage give the other. Published measures are text, so a hidden cell shows the mark in
every format.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from catalogbridge.io.grouping import apply_in_pandas_largest_first
from catalogbridge.names import (
    CLASS_SUMMARY,
    COMPLEMENTARY,
    DISCLOSURE_CELLS,
    DISCREPANT_ITEMS,
    INSURED,
    INSURED_DECISIONS,
    INSURED_SCENARIOS,
    PRIMARY,
    PUBLISHED_TABLES,
    SCENARIO_RESULTS,
    SUPPRESSION_LOG,
    TREATMENT,
)
from catalogbridge.privacy.disclosure import suppress
from catalogbridge.publication.cells import (
    CLASS_HOME,
    CLASS_TOTAL,
    CLASS_TREATMENT,
    INSURED_AWAY,
    INSURED_SCHEME,
    INSURED_TOTAL,
    ITEM_HOME,
    ITEM_TREATMENT,
    PAIR_SCHEME,
    SchemeRule,
    region_cells,
)

CELL_SCHEMA = StructType([
    StructField(INSURED, StringType()), StructField("kind", StringType()),
    StructField(TREATMENT, StringType()), StructField("national_code", StringType()),
    StructField("grouping", StringType()), StructField("group_code", StringType()),
    StructField("scheme", LongType()), StructField("status", StringType())])
_INPUT = (INSURED, TREATMENT, "national_code", "class_l1", "class_l2", "function",
          "visits_treatment", "visits_home")


def disclosure_cells(discrepant: DataFrame, *, pair_rule: SchemeRule, insured_rule: SchemeRule,
                     min_cell: int) -> DataFrame:
    """The hidden cells of every insured region: its key columns and primary/complementary."""

    def hidden_cells(items: pd.DataFrame) -> pd.DataFrame:
        return hidden_in_region(items, pair_rule=pair_rule, insured_rule=insured_rule,
                                min_cell=min_cell)

    return apply_in_pandas_largest_first(discrepant.select(*_INPUT), [INSURED], hidden_cells,
                                         CELL_SCHEMA)


def hidden_in_region(items: pd.DataFrame, *, pair_rule: SchemeRule, insured_rule: SchemeRule,
                     min_cell: int) -> pd.DataFrame:
    """The pure core of `disclosure_cells` for one insured region's discrepant items."""
    cells = region_cells(items, pair_rule=pair_rule, insured_rule=insured_rule)
    result = suppress(cells.values, cells.equations, min_cell=min_cell, lower=cells.lower)
    insured = str(items[INSURED].iloc[0])
    rows = [(insured, *cells.keys[c], PRIMARY if c in result.primary else COMPLEMENTARY)
            for c in sorted(result.hidden)]
    frame = pd.DataFrame(rows, columns=[f.name for f in CELL_SCHEMA.fields])
    return frame.astype({"scheme": "Int64"})


@dataclass(frozen=True)
class Mask:
    """Columns shown as the mark when any of the named hidden cells is hidden."""

    columns: tuple[str, ...]
    cells: tuple[str, ...]  # aliases of status columns joined by `_Published.status`
    counts: bool = False  # the columns are the visit counts the cells stand for


class _Published:
    """One exact table on its way to publication: hidden-cell statuses joined, then masked."""

    def __init__(self, table: DataFrame, cells: DataFrame, mark: str) -> None:
        self.frame, self.cells, self.mark = table, cells, mark

    def status(self, alias: str, kind: str, on: Sequence[str],
               where: Column | None = None) -> _Published:
        """Join the status of the cells of `kind` (and `where`) matching on `on` as `alias`."""
        chosen = F.col("kind") == kind
        statuses = self.cells.where(chosen if where is None else chosen & where).select(
            *on, F.col("status").alias(alias))
        self.frame = self.frame.join(statuses, list(on), "left")
        return self

    def masked(self, masks: Sequence[Mask], columns: Sequence[str],
               table: str) -> tuple[DataFrame, DataFrame]:
        """(the published table with `columns` in order, its suppression-log rows)."""
        shown = {}
        for mask in masks:
            hidden = _any_hidden(mask.cells)
            for column in mask.columns:
                shown[column] = F.when(hidden, F.lit(self.mark)).otherwise(
                    F.col(column).cast(StringType()))
        counted = [m for m in masks if m.counts]
        log = self.frame.groupBy(INSURED).agg(
            F.lit(table).alias("table"),
            _cells_with(counted, PRIMARY).alias("primary_cells"),
            _cells_with(counted, COMPLEMENTARY).alias("complementary_cells"),
            F.sum(sum((F.when(_any_hidden(m.cells), len(m.columns)).otherwise(0)
                       for m in masks if not m.counts), F.lit(0))).cast(LongType())
            .alias("derived_cells"),
            (F.count(F.lit(1)) * sum(len(m.columns) for m in masks)).cast(LongType())
            .alias("published_cells"))
        published = self.frame.withColumns(shown).select(*columns)
        return published, log.select("table", INSURED, "primary_cells", "complementary_cells",
                                     "derived_cells", "published_cells")


def _any_hidden(aliases: Sequence[str]) -> Column:
    hidden = F.lit(False)
    for alias in aliases:
        hidden = hidden | F.col(alias).isNotNull()
    return hidden


def _cells_with(masks: Sequence[Mask], status: str) -> Column:
    """How many count cells of the masks have `status` (one status column per mask)."""
    return F.sum(sum((F.when(F.col(m.cells[0]) == status, len(m.columns)).otherwise(0)
                      for m in masks), F.lit(0))).cast(LongType())


ITEM = (INSURED, "national_code")
PAIR_ITEM = (INSURED, TREATMENT, "national_code")
CLASS_GROUP = (INSURED, TREATMENT, "grouping", "group_code")
SIDES = {"treatment": CLASS_TREATMENT, "home": CLASS_HOME, "total": CLASS_TOTAL}


def _counted(visits: str, fee: str, cell: str) -> list[Mask]:
    """A visit count and its fee, hidden together with their cell."""
    return [Mask((visits,), (cell,), counts=True), Mask((fee,), (cell,))]


def published_discrepant(table: DataFrame, cells: DataFrame, mark: str) -> tuple[DataFrame, DataFrame]:
    return (_Published(table, cells, mark)
            .status("_t", ITEM_TREATMENT, PAIR_ITEM).status("_h", ITEM_HOME, ITEM)
            .masked([*_counted("visits_treatment", "fee_treatment", "_t"),
                     *_counted("visits_home", "fee_home", "_h")], table.columns, DISCREPANT_ITEMS))


def published_class_summary(table: DataFrame, cells: DataFrame,
                            mark: str) -> tuple[DataFrame, DataFrame]:
    published = _Published(table, cells, mark)
    masks = []
    total_row = F.col("grouping") == "total"
    for side, kind in SIDES.items():
        published.status(f"_{side}", kind, CLASS_GROUP).status(
            f"_{side}_whole", kind, (INSURED, TREATMENT), where=total_row)
        masks += [*_counted(f"visits_{side}", f"fee_{side}", f"_{side}"),
                  Mask((f"visits_{side}_pct", f"fee_{side}_pct"), (f"_{side}", f"_{side}_whole"))]
    return published.masked(masks, table.columns, CLASS_SUMMARY)


def published_schemes(table: DataFrame, cells: DataFrame, mark: str, *, kind: str,
                      unit: Sequence[str], name: str, min_cell: int) -> tuple[DataFrame, DataFrame]:
    """Scheme tables: visits and added spend, and their percentages against scheme 1.

    A scheme's item count tells how many items reach its threshold; with a threshold of
    1..min_cell that says whether hidden items are below it, so such counts are hidden too.
    """
    banded = table.withColumn("_band", F.when(F.col("threshold").between(1, min_cell),
                                              F.lit("band")))
    return (_Published(banded, cells, mark).status("_s", kind, (*unit, "scheme"))
            .status("_base", kind, unit, where=F.col("scheme") == 1)
            .masked([*_counted("visits", "added_spend", "_s"),
                     Mask(("visits_retention_pct", "spend_decline_pct"), ("_s", "_base")),
                     Mask(("item_count",), ("_band",))], table.columns, name))


def published_decisions(table: DataFrame, cells: DataFrame,
                        mark: str) -> tuple[DataFrame, DataFrame]:
    return (_Published(table, cells, mark)
            .status("_a", INSURED_AWAY, ITEM).status("_h", ITEM_HOME, ITEM)
            .status("_t", INSURED_TOTAL, ITEM)
            .masked([*_counted("visits_away", "fee_away", "_a"),
                     *_counted("visits_home", "fee_home", "_h"),
                     *_counted("visits_total", "fee_total", "_t")], table.columns,
                    INSURED_DECISIONS))


def publish(tables: dict[str, DataFrame], *, pair_rule: SchemeRule, insured_rule: SchemeRule,
            min_cell: int, mark: str) -> dict[str, DataFrame]:
    """The hidden cells, the published copy of every exact table in `tables` (by name) and
    the suppression log (per table and insured region)."""
    cells = disclosure_cells(tables[DISCREPANT_ITEMS], pair_rule=pair_rule,
                             insured_rule=insured_rule, min_cell=min_cell).cache()
    published = _published(tables, cells, mark, min_cell)
    suppression_log = functools.reduce(DataFrame.unionByName,
                                       [log for _, log in published.values()])
    return {DISCLOSURE_CELLS: cells, SUPPRESSION_LOG: suppression_log,
            **{PUBLISHED_TABLES[name]: table for name, (table, _) in published.items()}}


def _published(tables: dict[str, DataFrame], cells: DataFrame, mark: str,
               min_cell: int) -> dict[str, tuple[DataFrame, DataFrame]]:
    return {
        DISCREPANT_ITEMS: published_discrepant(tables[DISCREPANT_ITEMS], cells, mark),
        CLASS_SUMMARY: published_class_summary(tables[CLASS_SUMMARY], cells, mark),
        SCENARIO_RESULTS: published_schemes(tables[SCENARIO_RESULTS], cells, mark,
                                            kind=PAIR_SCHEME, unit=(INSURED, TREATMENT),
                                            name=SCENARIO_RESULTS, min_cell=min_cell),
        INSURED_DECISIONS: published_decisions(tables[INSURED_DECISIONS], cells, mark),
        INSURED_SCENARIOS: published_schemes(tables[INSURED_SCENARIOS], cells, mark,
                                             kind=INSURED_SCHEME, unit=(INSURED,),
                                             name=INSURED_SCENARIOS, min_cell=min_cell),
    }
