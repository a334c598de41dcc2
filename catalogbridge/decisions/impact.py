"""Budget impact and sensitivity of every decision unit, evaluated in Spark.

A decision unit is a pair (the paper's view), an insured region (its decision view) or a
region group under one rule (its members and the group). For each unit the items of each
threshold scheme (or, for a group, each member's added items) are traced to the regions
where the unit's insured use them and split by med_type: these cells are all the model
needs. `applyInPandas` hands one unit's cells at a time to the numpy model
(`decisions.budget`) with the scenarios drawn once on the driver and closed over by the
factory; nothing that grows with rows or items reaches the driver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from catalogbridge.columns import AMOUNT_TYPE
from catalogbridge.decisions.budget import (
    MEASURES,
    PSA_COLUMNS,
    TORNADO_COLUMNS,
    BudgetSettings,
    Cells,
    Scenarios,
    evaluate,
    merged,
    scenarios,
    tornado,
    uptake_curve,
    yearly_impact,
)
from catalogbridge.decisions.settings import THRESHOLD_MEASURES, DecisionSettings
from catalogbridge.names import INSURED, TREATMENT
from catalogbridge.transforms.scenarios import ScenarioSettings, in_scope, scheme_table

PAIR_UNIT, INSURED_UNIT, GROUP_UNIT = "pair", "insured", "group"
ROW_KEY = (INSURED, TREATMENT, "group_name", "rule", "scheme")
UNIT_KEY = ("unit", *ROW_KEY)
USE_REGION = "use_region"
_UNIT_ID = "_unit_id"
IMPACT_MEASURES = ("fund_impact", "patient_relief", "fund_impact_to_date")
YEAR_MEASURES = (*MEASURES, *IMPACT_MEASURES, *PSA_COLUMNS,
                 *[f"{c}_to_date" for c in PSA_COLUMNS])
_KEY_SCHEMA = ("unit string, insured_admdvs string, treatment_admdvs string, "
               "group_name string, rule string, scheme long")
_IMPACT, _TORNADO = "impact", "tornado"  # the two kinds of row one evaluation gives
_EVALUATED_SCHEMA = (_KEY_SCHEMA + ", part string, year int, "
                     + ", ".join(f"{m} double" for m in YEAR_MEASURES) + ", "
                     + ", ".join(f"{c} {'string' if c == 'parameter' else 'double'}"
                                 for c in TORNADO_COLUMNS))


def _unit(kind: str, keys: dict[str, Column]) -> dict[str, Column]:
    """The unit columns of one kind; keys a unit does not have are null."""
    nulls = {INSURED: F.lit(None).cast("string"), TREATMENT: F.lit(None).cast("string"),
             "group_name": F.lit(None).cast("string"), "rule": F.lit(None).cast("string"),
             "scheme": F.lit(None).cast("long")}
    columns = {"unit": F.lit(kind), **nulls, **keys}
    ident = {PAIR_UNIT: (INSURED, TREATMENT), INSURED_UNIT: (INSURED,),
             GROUP_UNIT: ("group_name", "rule")}[kind]
    return {**columns, _UNIT_ID: F.concat_ws("|", *[columns[c] for c in ident])}


def _unit_columns(kind: str, keys: dict[str, Column]) -> list[Column]:
    return [c.alias(n) for n, c in _unit(kind, keys).items()]


def with_unit(table: DataFrame, kind: str) -> DataFrame:
    """A table keyed by one unit kind's columns, with the unit columns of every kind first
    (those the kind does not have null), so the kinds share one table."""
    present = [c for c in ROW_KEY if c in table.columns]
    unit = _unit(kind, {c: F.col(c) for c in present})
    rest = [c for c in table.columns if c not in present]
    return table.select(*[unit[c].alias(c) for c in UNIT_KEY], *rest)


def pair_items(discrepant: DataFrame, *, schemes: DataFrame, scope: str) -> DataFrame:
    """(unit columns, national_code, use_region): each pair scheme's items, used in the
    treatment region and at home (the paper's added spend)."""
    items = in_scope(discrepant, scope).crossJoin(F.broadcast(schemes)).where(
        F.col("visits_treatment") >= F.col("threshold"))
    return items.select(
        *_unit_columns(PAIR_UNIT, {INSURED: F.col(INSURED), TREATMENT: F.col(TREATMENT),
                                   "scheme": F.col("scheme")}),
        "national_code", F.explode(F.array(TREATMENT, INSURED)).alias(USE_REGION))


def insured_items(decisions: DataFrame, *, discrepant: DataFrame, schemes: DataFrame,
                  scope: str, threshold_on: str) -> DataFrame:
    """Each insured region's scheme items, used at home and in every region covering them."""
    items = in_scope(decisions, scope).crossJoin(F.broadcast(schemes)).where(
        F.col(THRESHOLD_MEASURES[threshold_on]) >= F.col("threshold"))
    regions = (discrepant.select(INSURED, "national_code", F.col(TREATMENT).alias(USE_REGION))
               .unionByName(decisions.select(INSURED, "national_code",
                                             F.col(INSURED).alias(USE_REGION))))
    return items.join(regions, [INSURED, "national_code"]).select(
        *_unit_columns(INSURED_UNIT, {INSURED: F.col(INSURED), "scheme": F.col("scheme")}),
        "national_code", USE_REGION)


def group_items(use: DataFrame) -> DataFrame:
    """Each member's added items where its insured use them (`group_use`)."""
    return use.select(
        *_unit_columns(GROUP_UNIT, {INSURED: F.col(INSURED), "group_name": F.col("group_name"),
                                    "rule": F.col("rule")}),
        "national_code", F.col(TREATMENT).alias(USE_REGION))


def budget_cells(items: DataFrame, *, med_types: DataFrame, rows: DataFrame) -> DataFrame:
    """Visits and fees of `items` per unit row, region of use and med_type; every row of
    `rows` (unit columns) appears, with a zero cell when none of its items was used."""
    use = med_types.withColumnRenamed(TREATMENT, USE_REGION)
    used = (items.join(use, [INSURED, USE_REGION, "national_code"])
            .groupBy(*UNIT_KEY, _UNIT_ID, USE_REGION, "med_type")
            .agg(F.sum("visits").cast("double").alias("visits"),
                 F.sum("fee").cast("double").alias("fee")))
    zeros = rows.select(*UNIT_KEY, _UNIT_ID, F.col(INSURED).alias(USE_REGION),
                        F.lit(None).cast("string").alias("med_type"),
                        F.lit(0.0).alias("visits"), F.lit(0.0).alias("fee"))
    return used.unionByName(zeros)


def unit_rows(kind: str, table: DataFrame, keys: dict[str, Column]) -> DataFrame:
    """Every row a unit kind reports (for the zero cells), from a table listing them."""
    return table.select(*_unit_columns(kind, keys))


def decision_cells(*, discrepant: DataFrame, decisions: DataFrame, pair_schemes: DataFrame,
                   insured_schemes: DataFrame, group_use: DataFrame, groups: DataFrame,
                   med_types: DataFrame, spark: SparkSession, scenario: ScenarioSettings,
                   decision: DecisionSettings) -> DataFrame:
    """The cells of every pair, insured region and region group (see `budget_cells`)."""
    schemes = scheme_table(spark, scenario.thresholds)
    insured_thresholds = scheme_table(spark, decision.thresholds or scenario.thresholds)
    items = (discrepant.transform(pair_items, schemes=schemes, scope=scenario.scope)
             .unionByName(decisions.transform(
                 insured_items, discrepant=discrepant, schemes=insured_thresholds,
                 scope=scenario.scope, threshold_on=decision.threshold_on))
             .unionByName(group_items(group_use)))
    rows = (unit_rows(PAIR_UNIT, pair_schemes, {INSURED: F.col(INSURED),
                                                TREATMENT: F.col(TREATMENT),
                                                "scheme": F.col("scheme")})
            .unionByName(unit_rows(INSURED_UNIT, insured_schemes,
                                   {INSURED: F.col(INSURED), "scheme": F.col("scheme")}))
            .unionByName(unit_rows(GROUP_UNIT, groups.where(F.col(INSURED).isNotNull()),
                                   {INSURED: F.col(INSURED), "group_name": F.col("group_name"),
                                    "rule": F.col("rule")})))
    return items.transform(budget_cells, med_types=med_types, rows=rows)


@dataclass(frozen=True)
class _Unit:
    keys: pd.DataFrame   # one row per output row
    cells: Cells


def _unit_cells(pdf: pd.DataFrame, settings: BudgetSettings) -> _Unit:
    """A unit's cells against its output rows; a group's cells count for the group too."""
    key = pdf[list(UNIT_KEY)].astype(object)
    key = key.where(key.notna(), None)
    codes, _ = pd.factorize(key.astype(str).agg("|".join, axis=1))  # in order of appearance
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    frame = key.iloc[first].reset_index(drop=True)
    rule = np.array([settings.share_rule(p, m) for p, m in zip(pdf[INSURED], pdf["med_type"],
                                                               strict=True)])
    growth = np.array([settings.growth_of(p, r) for p, r in zip(pdf[INSURED], pdf[USE_REGION],
                                                                strict=True)])
    row = np.asarray(codes)
    visits, fees = pdf["visits"].to_numpy(float), pdf["fee"].to_numpy(float)
    if (frame["unit"] == GROUP_UNIT).all():
        total = frame.iloc[:1].assign(**{INSURED: None})
        frame = pd.concat([frame, total], ignore_index=True)
        row = np.concatenate([row, np.full(len(row), len(frame) - 1)])
        rule, growth = np.tile(rule, 2), np.tile(growth, 2)
        visits, fees = np.tile(visits, 2), np.tile(fees, 2)
    return _Unit(frame, merged(Cells(row=row, rule=rule, growth=growth, visits=visits,
                                     fees=fees)))


def _unit_evaluator(settings: BudgetSettings, scen: Scenarios,
                    uptake: np.ndarray) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """The grouped function: one evaluation of a unit's scenarios gives its yearly rows
    (base, Monte Carlo summary) and its tornado rows (the scenarios after the base)."""

    def evaluate_unit(pdf: pd.DataFrame) -> pd.DataFrame:
        unit = _unit_cells(pdf, settings)
        out = evaluate(unit.cells, scen, uptake, len(unit.keys))
        result, years = yearly_impact(out, scen), len(uptake)
        impact = unit.keys.loc[np.repeat(np.arange(len(unit.keys)), years)].reset_index(drop=True)
        impact["year"] = pd.array(np.tile(np.arange(1, years + 1), len(unit.keys)), dtype="Int32")
        for name in YEAR_MEASURES:
            impact[name] = np.round(result[name].reshape(-1), 2)
        swings = pd.DataFrame(tornado(out, scen, settings), columns=["_row", *TORNADO_COLUMNS])
        sensitivity = unit.keys.loc[swings["_row"]].reset_index(drop=True)
        for name in TORNADO_COLUMNS:
            values = swings[name]
            sensitivity[name] = values if name == "parameter" else np.round(
                values.to_numpy(float), 2)
        return pd.concat([impact.assign(part=_IMPACT), sensitivity.assign(part=_TORNADO)],
                         ignore_index=True)

    return evaluate_unit


# Amounts in yuan, stored as decimals: the measures but visits, and the tornado's impacts.
MONEY = (*[m for m in MEASURES if not m.startswith("visits_")], *IMPACT_MEASURES,
         *TORNADO_COLUMNS[TORNADO_COLUMNS.index("impact_base"):])


def _money(df: DataFrame) -> DataFrame:
    return df.withColumns({c: F.col(c).cast(AMOUNT_TYPE) for c in df.columns if c in MONEY})


def budget_tables(cells: DataFrame, *, settings: BudgetSettings) -> tuple[DataFrame, DataFrame]:
    """(budget_impact, budget_sensitivity) of every unit, from one pass over its cells.

    budget_impact: per unit row and year, current and new world, fund impact and patient
    relief, with the Monte Carlo mean, median and 95 % interval of the fund impact
    (`settings.draws`). budget_sensitivity (tornado data): per unit row and parameter, the
    fund impact over the horizon at the parameter's low and high value, the swing and its
    rank (1 = the widest). Both read one evaluated frame, cached for the stage.
    """
    scen = scenarios(settings)
    evaluated = cells.groupBy("unit", _UNIT_ID).applyInPandas(
        _unit_evaluator(settings, scen, uptake_curve(settings)), _EVALUATED_SCHEMA).cache()
    impact = evaluated.where(F.col("part") == _IMPACT).select(*UNIT_KEY, "year", *YEAR_MEASURES)
    order = F.row_number().over(
        Window.partitionBy(*UNIT_KEY).orderBy(F.desc("swing"), "parameter"))
    swings = (evaluated.where(F.col("part") == _TORNADO).select(*UNIT_KEY, *TORNADO_COLUMNS)
              .withColumn("swing_rank", order))
    return _money(impact), _money(swings)
