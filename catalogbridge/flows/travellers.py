"""Who travels (filing type, med_type, person type, hospital tier per pair, and how the mix
changes over the period) and what care away from home costs against care at home."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from catalogbridge.flows.panel import ALL, ratio, visit_measures, with_rates
from catalogbridge.flows.visits import LOCAL
from catalogbridge.names import INSURED, PAIR, TREATMENT

DIMENSIONS = ("filing_type", "med_type", "psn_type", "hosp_tier")
MISSING = "missing"  # a visit without a value of the dimension


def growth_windows(months: Sequence[str]) -> tuple[list[str], list[str]]:
    """The first and last k months of the period in the data (k = 3, or half of a shorter
    period); both empty with fewer than two months, where growth is not defined."""
    ordered = sorted(months)
    k = min(3, len(ordered) // 2)
    return (ordered[:k], ordered[-k:]) if k else ([], [])


def traveller_mix(visits: DataFrame, *, dimensions: Sequence[str], months: Sequence[str]) -> DataFrame:
    """Per pair (visits away from the home city), dimension and value: persons, visits, fees,
    rates, the value's share of the pair's visits, and its visits and share in the first and
    last months of the period with the growth between them."""
    away = visits.where(F.col("cross_level") != LOCAL)
    first, last = growth_windows(months)
    frames = []
    for dimension in dimensions:
        value = F.coalesce(F.col(dimension).cast("string"), F.lit(MISSING))
        frames.append(away.groupBy(*PAIR, F.lit(dimension).alias("dimension"),
                                   value.alias("value")).agg(
            *visit_measures(),
            F.sum(F.col("month").isin(*first).cast("long")).alias("visits_first"),
            F.sum(F.col("month").isin(*last).cast("long")).alias("visits_last")))
    if not frames:
        raise ValueError("traveller_mix needs at least one dimension")
    mix = frames[0]
    for frame in frames[1:]:
        mix = mix.unionByName(frame)
    within = Window.partitionBy(*PAIR, "dimension")
    share = {name: F.round(ratio(F.col(column), F.sum(column).over(within)), 4)
             for name, column in (("visit_share", "visits"), ("share_first", "visits_first"),
                                  ("share_last", "visits_last"))}
    return mix.withColumns(share).withColumn(
        "visit_growth", F.round(ratio(F.col("visits_last"), F.col("visits_first")) - 1, 4)
    ).transform(with_rates)


def cost_benchmarks(visits: DataFrame) -> DataFrame:
    """Per away pair (P insured, T treatment) and med_type (and 'all'): fees per visit and per
    person of P's insured in T against P's insured at home and T's own insured, with ratios,
    and the fund's share of fees for each where fund-paid amounts are present."""
    def grouped(df: DataFrame, keys: list[str]) -> DataFrame:
        each = df.groupBy(*keys, "med_type").agg(*visit_measures())
        every = df.groupBy(*keys, F.lit(ALL).alias("med_type")).agg(*visit_measures())
        return each.unionByName(every).transform(with_rates)

    at_home = F.col(INSURED) == F.col(TREATMENT)
    away = grouped(visits.where(~at_home), list(PAIR))
    # Joined twice (P's home, T's own): cached so that its aggregations of most visits run
    # once (bounded: regions x med_types; the stage's end releases it).
    home = grouped(visits.where(at_home).withColumnRenamed(INSURED, "_region"), ["_region"]) \
        .select("_region", "med_type", "visits", "fees_per_visit", "fees_per_person", "fund_share") \
        .cache()

    def side(prefix: str) -> DataFrame:
        return home.select(F.col("_region").alias(f"_{prefix}_region"), "med_type",
                           *[F.col(c).alias(f"{prefix}_{c}") for c in home.columns[2:]])

    insured_home = side("home").withColumnRenamed("med_type", "_home_med_type")
    treatment_own = side("own").withColumnRenamed("med_type", "_own_med_type")
    out = away.join(insured_home, (F.col(INSURED) == F.col("_home_region"))
                    & (F.col("med_type") == F.col("_home_med_type")), "left") \
        .join(treatment_own, (F.col(TREATMENT) == F.col("_own_region"))
              & (F.col("med_type") == F.col("_own_med_type")), "left")
    return out.withColumns({
        "visit_cost_vs_home": F.round(ratio(F.col("fees_per_visit"), F.col("home_fees_per_visit")), 4),
        "visit_cost_vs_own": F.round(ratio(F.col("fees_per_visit"), F.col("own_fees_per_visit")), 4),
        "person_cost_vs_home": F.round(ratio(F.col("fees_per_person"), F.col("home_fees_per_person")), 4),
        "person_cost_vs_own": F.round(ratio(F.col("fees_per_person"), F.col("own_fees_per_person")), 4),
    }).drop("_home_region", "_home_med_type", "_own_region", "_own_med_type")
