"""Item statistics, discrepant items, inclusion schemes and class summaries (paper 1.3-1.5)."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StructField, StructType

from catalogbridge.classes import CLASS_L1_NAMES, CLASS_L2_NAMES, FUNCTION_NAMES
from catalogbridge.columns import THERAPEUTIC, class_l1, class_l2, item_function, pct
from catalogbridge.contracts import AMOUNT_TYPE

PAIR = ("insured_admdvs", "treatment_admdvs")
STATS_KEY = (*PAIR, "national_code")

DISCREPANT_COLUMNS = (
    *PAIR, "national_code", "national_name", "class_l1", "class_l2", "function",
    "visits_treatment", "fee_treatment", "visits_home", "fee_home",
)
SCENARIO_COLUMNS = (
    *PAIR, "scheme", "threshold", "item_count", "visits", "visits_retention_pct",
    "added_spend", "spend_decline_pct",
)


def amount(col: Column) -> Column:
    return col.cast(AMOUNT_TYPE)


def item_stats(clean: DataFrame) -> DataFrame:
    """Visits (distinct `mdtrt_id`) and fees per insured region, treatment region and item."""
    return (
        clean.where(F.col("national_code").isNotNull())
        .groupBy(*STATS_KEY)
        .agg(
            F.countDistinct("mdtrt_id").cast(LongType()).alias("visits"),
            amount(F.sum("det_item_fee_sumamt")).alias("fee"),
            F.count(F.lit(1)).cast(LongType()).alias("lines"),
        )
    )


def region_coverage(mapping: DataFrame, lookup: DataFrame) -> DataFrame:
    """(region, national_code, covered): covered when any catalog row for it is level 01/02."""
    items = (
        mapping.where(F.col("national_code").isNotNull())
        .groupBy("catalog_region", "national_code")
        .agg(F.max(F.col("covered").cast("int")).cast("boolean").alias("covered"))
    )
    return lookup.join(items, "catalog_region").select("region", "national_code", "covered")


def province_pairs(stats: DataFrame) -> DataFrame:
    """Every (insured, treatment) pair with cross-region use in the data."""
    return stats.where(F.col("insured_admdvs") != F.col("treatment_admdvs")).select(*PAIR).distinct()


def discrepant_items(stats: DataFrame, coverage: DataFrame, national: DataFrame, *,
                     class_offset: int = 2) -> DataFrame:
    """Items covered in T, not covered in P, used by P's insured in T; with home-side use."""
    away = stats.where((F.col("insured_admdvs") != F.col("treatment_admdvs"))
                       & (F.col("visits") >= 1))
    home = stats.where(F.col("insured_admdvs") == F.col("treatment_admdvs")).select(
        "insured_admdvs", "national_code",
        F.col("visits").alias("visits_home"), F.col("fee").alias("fee_home"))
    covered_t = coverage.where("covered").select(
        F.col("region").alias("treatment_admdvs"), "national_code")
    covered_p = coverage.where("covered").select(
        F.col("region").alias("insured_admdvs"), "national_code")
    l1 = class_l1(F.col("national_code"), class_offset)
    l2 = class_l2(F.col("national_code"), class_offset)
    return (
        away.join(covered_t, ["treatment_admdvs", "national_code"], "left_semi")
        .join(covered_p, ["insured_admdvs", "national_code"], "left_anti")
        .join(home, ["insured_admdvs", "national_code"], "left")
        .join(national.select("national_code", "national_name"), "national_code", "left")
        .select(
            *PAIR, "national_code", "national_name",
            l1.alias("class_l1"), l2.alias("class_l2"), item_function(l1, l2).alias("function"),
            F.col("visits").alias("visits_treatment"), F.col("fee").alias("fee_treatment"),
            F.coalesce("visits_home", F.lit(0)).cast(LongType()).alias("visits_home"),
            amount(F.coalesce("fee_home", F.lit(0))).alias("fee_home"),
        )
    )


def scenario_results(discrepant: DataFrame, pairs: DataFrame, *, spark: SparkSession,
                     thresholds: list[int], scope: str = THERAPEUTIC) -> DataFrame:
    """The paper's Table 4 for every pair: schemes by visit threshold in T, with fund impact.

    Scheme n includes the in-scope discrepant items with `visits_treatment >= thresholds[n-1]`;
    visits and added spend sum both regions; percentages are against scheme 1.
    """
    schemes = spark.createDataFrame(
        [(i + 1, t) for i, t in enumerate(thresholds)],
        StructType([StructField("scheme", LongType()), StructField("threshold", LongType())]))
    items = discrepant if scope == "all" else discrepant.where(F.col("function") == scope)
    items = items.select(
        *[F.col(c).alias(f"_{c}") for c in PAIR], "national_code", "visits_treatment",
        (F.col("visits_treatment") + F.col("visits_home")).alias("_visits"),
        (F.col("fee_treatment") + F.col("fee_home")).alias("_spend"))
    grid = pairs.select(*PAIR).distinct().crossJoin(F.broadcast(schemes))
    on = ((grid["insured_admdvs"] == items["_insured_admdvs"])
          & (grid["treatment_admdvs"] == items["_treatment_admdvs"])
          & (items["visits_treatment"] >= grid["threshold"]))
    totals = (
        grid.join(items, on, "left")
        .groupBy(*PAIR, "scheme", "threshold")
        .agg(F.count("national_code").cast(LongType()).alias("item_count"),
             F.coalesce(F.sum("_visits"), F.lit(0)).cast(LongType()).alias("visits"),
             amount(F.coalesce(F.sum("_spend"), F.lit(0))).alias("added_spend"))
    )
    base = totals.where(F.col("scheme") == 1).select(
        *PAIR, F.col("visits").alias("_base_visits"), F.col("added_spend").alias("_base_spend"))
    return (
        totals.join(base, list(PAIR))
        .withColumns({
            "visits_retention_pct": pct(F.col("visits"), F.col("_base_visits")),
            "spend_decline_pct": F.when(
                F.col("_base_spend") != 0,
                F.round(100.0 - F.col("added_spend").cast("double") * 100.0
                        / F.col("_base_spend").cast("double"), 2)),
        })
        .select(*SCENARIO_COLUMNS)
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
    sums = [(amount(F.sum(c)) if n.startswith("fee") else F.sum(c).cast(LongType())).alias(n)
            for n, c in measures.items()]
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
    def lookup(names: dict[str, str]) -> Column:
        return F.create_map(*[F.lit(x) for kv in names.items() for x in kv])[F.col("group_code")]

    return (F.when(F.col("grouping") == "class_l1", lookup(CLASS_L1_NAMES))
            .when(F.col("grouping") == "class_l2", lookup(CLASS_L2_NAMES))
            .when(F.col("grouping") == "function", lookup(FUNCTION_NAMES))
            .otherwise(F.lit("合计")))
