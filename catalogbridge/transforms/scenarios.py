"""Inclusion schemes (paper 1.5, Table 4) and class summaries (Tables 2-3) for every pair."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StructField, StructType

from catalogbridge.columns import amount, lookup, measure, pct
from catalogbridge.labels import CLASS_L1_NAMES, CLASS_L2_NAMES, FUNCTION_NAMES
from catalogbridge.names import INSURED, PAIR, THERAPEUTIC, TREATMENT
from catalogbridge.settings import SettingError, check_choice

SCHEME_MEASURES = ("scheme", "threshold", "item_count", "visits", "visits_retention_pct",
                   "added_spend", "spend_decline_pct")
SCOPES = (THERAPEUTIC, "all")


@dataclass(frozen=True)
class ScenarioSettings:
    """The threshold schemes of Table 4 (conf `scenario`): visits in the treatment region."""

    thresholds: list[int] = field(default_factory=lambda: [0, 100, 200, 300, 400, 500])
    scope: str = THERAPEUTIC

    def __post_init__(self) -> None:
        check_choice("scope", self.scope, SCOPES)
        if not self.thresholds:
            raise SettingError("thresholds", "give at least one threshold")
        if any(t < 0 for t in self.thresholds) or sorted(set(self.thresholds)) != self.thresholds:
            raise SettingError(
                "thresholds", "use distinct non-negative visit counts in ascending order "
                f"(scheme 1 is the baseline), got {self.thresholds}")


def province_pairs(stats: DataFrame) -> DataFrame:
    """Every (insured, treatment) pair with cross-region use in the data."""
    return stats.where(F.col(INSURED) != F.col(TREATMENT)).select(*PAIR).distinct()


def scenario_results(discrepant: DataFrame, *, pairs: DataFrame, spark: SparkSession,
                     thresholds: list[int], scope: str = THERAPEUTIC) -> DataFrame:
    """The paper's Table 4 for every pair: schemes by visit threshold in T, with fund impact.

    Scheme n includes the in-scope discrepant items with `visits_treatment >= thresholds[n-1]`;
    visits and added spend sum both regions; percentages are against scheme 1.
    """
    items = in_scope(discrepant, scope).select(
        *PAIR, "national_code", F.col("visits_treatment").alias("_measure"),
        (F.col("visits_treatment") + F.col("visits_home")).alias("_visits"),
        (F.col("fee_treatment") + F.col("fee_home")).alias("_spend"))
    return threshold_schemes(items, keys=PAIR, units=pairs, spark=spark, thresholds=thresholds)


def in_scope(items: DataFrame, scope: str) -> DataFrame:
    """The items a scheme may include: therapeutic ones (the paper), or all."""
    return items if scope == "all" else items.where(F.col("function") == scope)


def scheme_table(spark: SparkSession, thresholds: list[int]) -> DataFrame:
    """(scheme, threshold): scheme n is thresholds[n-1]."""
    return spark.createDataFrame(
        [(i + 1, t) for i, t in enumerate(thresholds)],
        StructType([StructField("scheme", LongType()), StructField("threshold", LongType())]))


def threshold_schemes(items: DataFrame, *, keys: Sequence[str], units: DataFrame,
                      spark: SparkSession, thresholds: list[int]) -> DataFrame:
    """Scheme n of every unit (`keys`): the items whose `_measure` reaches thresholds[n-1].

    `items` has `keys`, `national_code`, `_measure`, `_visits` and `_spend`; every unit in
    `units` gets every scheme, with zeros when no item qualifies; percentages are against
    scheme 1.
    """
    schemes = scheme_table(spark, thresholds)
    items = items.select(*[F.col(c).alias(f"_{c}") for c in keys],
                         "national_code", "_measure", "_visits", "_spend")
    grid = units.select(*keys).distinct().crossJoin(F.broadcast(schemes))
    on = F.lit(True)
    for c in keys:
        on = on & (grid[c] == items[f"_{c}"])
    totals = (
        grid.join(items, on & (items["_measure"] >= grid["threshold"]), "left")
        .groupBy(*keys, "scheme", "threshold")
        .agg(F.count("national_code").cast(LongType()).alias("item_count"),
             F.coalesce(F.sum("_visits"), F.lit(0)).cast(LongType()).alias("visits"),
             amount(F.coalesce(F.sum("_spend"), F.lit(0))).alias("added_spend"))
    )
    base = totals.where(F.col("scheme") == 1).select(
        *keys, F.col("visits").alias("_base_visits"), F.col("added_spend").alias("_base_spend"))
    return (
        totals.join(base, list(keys))
        .withColumns({
            "visits_retention_pct": pct(F.col("visits"), F.col("_base_visits")),
            "spend_decline_pct": F.when(
                F.col("_base_spend") != 0,
                F.round(100.0 - F.col("added_spend").cast("double") * 100.0
                        / F.col("_base_spend").cast("double"), 2)),
        })
        .select(*keys, *SCHEME_MEASURES)
    )


def class_summary(discrepant: DataFrame) -> DataFrame:
    """Tables 2 and 3 of the paper: per pair, by level-1 class, level-2 class, function, total."""
    groups = F.array(
        F.struct(F.lit("class_l1").alias("grouping"), F.col("class_l1").alias("group_code")),
        F.struct(F.lit("class_l2").alias("grouping"), F.col("class_l2").alias("group_code")),
        F.struct(F.lit("function").alias("grouping"), F.col("function").alias("group_code")),
        F.struct(F.lit("total").alias("grouping"), F.lit("total").alias("group_code")),
    )
    measures = {
        "visits_treatment": F.col("visits_treatment"), "fee_treatment": F.col("fee_treatment"),
        "visits_home": F.col("visits_home"), "fee_home": F.col("fee_home"),
        "visits_total": F.col("visits_treatment") + F.col("visits_home"),
        "fee_total": F.col("fee_treatment") + F.col("fee_home"),
    }
    sums = [measure(n, F.sum(c)) for n, c in measures.items()]
    summary = (
        discrepant.withColumn("_g", F.explode(groups))
        .groupBy(*PAIR, "_g.grouping", "_g.group_code")
        .agg(F.count(F.lit(1)).cast(LongType()).alias("item_count"), *sums)
    )
    totals = summary.where(F.col("grouping") == "total").select(
        *PAIR, *[F.col(n).alias(f"_total_{n}") for n in measures])
    shares = {f"{n}_pct": pct(F.col(n), F.col(f"_total_{n}")) for n in measures}
    ordered: list[str] = ["item_count"]
    for n in measures:
        ordered += [n, f"{n}_pct"]
    return (
        summary.join(totals, list(PAIR))
        .withColumns({**shares, "group_name": _group_name()})
        .select(*PAIR, "grouping", "group_code", "group_name", *ordered)
    )


def _group_name() -> Column:
    code = F.col("group_code")
    return (F.when(F.col("grouping") == "class_l1", lookup(CLASS_L1_NAMES, code))
            .when(F.col("grouping") == "class_l2", lookup(CLASS_L2_NAMES, code))
            .when(F.col("grouping") == "function", lookup(FUNCTION_NAMES, code))
            .otherwise(F.lit("合计")))
