"""The flow panel (pair x month x med_type), the origin-destination view and each region's balance.

Visits and fees add up over months and med_types; persons do not (one person may travel in
several months), so each rollup ('all') counts its own distinct persons from the visit table.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from catalogbridge.columns import amount
from catalogbridge.names import INSURED, PAIR, TREATMENT

ALL = "all"  # the period, or every med_type, in a rollup row
PANEL_KEY = (*PAIR, "period", "med_type", "cross_level")
RATIO_MEASURES = ("persons", "visits", "fees")


def ratio(numerator: Column, denominator: Column) -> Column:
    """numerator / denominator as a double; null when the denominator is 0 or null."""
    return F.when(denominator != 0, numerator.cast("double") / denominator.cast("double"))


def visit_measures() -> list[Column]:
    """persons, visits, fees and fund-paid of a group of visits."""
    return [F.countDistinct("psn_no").alias("persons"), F.count(F.lit(1)).alias("visits"),
            amount(F.sum("fees")).alias("fees"), amount(F.sum("fund_paid")).alias("fund_paid")]


def with_rates(df: DataFrame) -> DataFrame:
    """Fees per visit and per person (yuan, to the fen) and the fund's share of fees."""
    return df.withColumns({
        "fees_per_visit": amount(F.col("fees") / F.col("visits")),
        "fees_per_person": amount(F.col("fees") / F.col("persons")),
        "fund_share": F.round(ratio(F.col("fund_paid"), F.col("fees")), 4),
    })


def flow_panel(visits: DataFrame) -> DataFrame:
    """Per pair, period (month, and 'all') and med_type (each, and 'all'): persons, visits,
    fees, fund-paid, rates, and the two-way ratios A->B : B->A of persons, visits and fees."""
    groups = []
    for period in ("month", None):
        for med_type in ("med_type", None):
            keys: list[Column] = [F.col(INSURED), F.col(TREATMENT),
                                  F.col(period) if period else F.lit(ALL),
                                  F.col(med_type) if med_type else F.lit(ALL), F.col("cross_level")]
            groups.append(visits.groupBy(*keys).agg(*visit_measures()).toDF(
                *PANEL_KEY, "persons", "visits", "fees", "fund_paid"))
    panel = groups[0].unionByName(groups[1]).unionByName(groups[2]).unionByName(groups[3])
    away = F.col(INSURED) != F.col(TREATMENT)
    return panel.transform(with_rates).withColumns({
        f"{m}_ratio": F.when(away, F.round(ratio(F.col(m), reverse_measure(m)), 4))
        for m in RATIO_MEASURES})


def reverse_measure(measure: str) -> Column:
    """The measure of the panel row B->A beside the row A->B (else 0; null for a null key).

    The two directions share a window on the unordered pair and the other keys, at most two
    rows, so B->A's value is the window's sum less A->B's own: one small shuffle of the
    panel, where a self-join would compute the panel's four aggregations twice.
    """
    pair = Window.partitionBy(F.least(INSURED, TREATMENT), F.greatest(INSURED, TREATMENT),
                              *PANEL_KEY[2:])
    keyed = F.lit(True)
    for key in PANEL_KEY:
        keyed = keyed & F.col(key).isNotNull()
    return F.when(keyed, F.sum(measure).over(pair) - F.col(measure))


def flow_destinations(visits: DataFrame) -> DataFrame:
    """The origin-destination matrix in long form (period, all med_types, away pairs only):
    each destination's share of its origin's outflow of visits and fees, and its rank."""
    away = visits.where(F.col(INSURED) != F.col(TREATMENT))
    pairs = away.groupBy(*PAIR).agg(*visit_measures())
    origin = Window.partitionBy(INSURED)
    return pairs.withColumns({
        "visit_share": F.round(ratio(F.col("visits"), F.sum("visits").over(origin)), 4),
        "fee_share": F.round(ratio(F.col("fees"), F.sum("fees").over(origin)), 4),
        "rank": F.row_number().over(origin.orderBy(F.desc("visits"), F.desc("fees"), TREATMENT)),
    }).transform(with_rates)


def flow_balance(visits: DataFrame) -> DataFrame:
    """Per region: its insured treated at home and elsewhere (outflow), others' insured treated
    in it (inflow), net inflow, and inflow : outflow (above 1: the region draws patients in)."""
    away = F.col(INSURED) != F.col(TREATMENT)

    def side(where: Column, region: str, prefix: str) -> DataFrame:
        measures = visits.where(where).groupBy(F.col(region).alias("admdvs")).agg(*visit_measures())
        return measures.select("admdvs", *[F.col(m).alias(f"{prefix}_{m}")
                                           for m in ("persons", "visits", "fees")])

    home = side(~away, INSURED, "home")
    outflow = side(away, INSURED, "outflow")
    inflow = side(away, TREATMENT, "inflow")
    joined = home.join(outflow, "admdvs", "full").join(inflow, "admdvs", "full").na.fill(0)
    return joined.withColumns({
        "net_inflow_visits": F.col("inflow_visits") - F.col("outflow_visits"),
        "net_inflow_fees": amount(F.col("inflow_fees") - F.col("outflow_fees")),
        "inflow_outflow_ratio": F.round(ratio(F.col("inflow_visits"), F.col("outflow_visits")), 4),
        "outflow_rate": F.round(ratio(F.col("outflow_visits"),
                                      F.col("outflow_visits") + F.col("home_visits")), 4),
    })
