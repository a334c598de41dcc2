"""Region groups moving to a common catalog (长三角, 京津冀, 川渝, …): what each member adds.

The common catalog of a group is every item covered by at least k of its members: k = 1 is
the union, the majority rule takes k from conf. A member adds the common items it does not
cover; what that costs it is its own insured's use of them at home and in every region
that covers them afterwards: a region covering them now, or a fellow member (which covers
them under the common catalog too). Items nobody used are listed with zero use: the
committee adopts a catalog, not only the items that were billed. A member without a catalog
in the data adds nothing here (what it lacks is unknown); the summary marks it `in_data`
false and the run summary lists it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType

from catalogbridge.columns import amount, measure
from catalogbridge.names import INSURED, TREATMENT
from catalogbridge.transforms.discrepancy import ITEM_COLUMNS, with_item_names

GROUP_KEY = ("group_name", "rule", "min_members")
UNION, MAJORITY = "union", "majority"
SUMMARY_MEASURES = ("item_count", "items_used", "visits", "added_spend", "in_data")
USE_COLUMNS = ("visits_home", "fee_home", "visits_away", "fee_away", "visits_total", "fee_total")


def group_members(groups: Mapping[str, Sequence[str]], *, regions: Sequence[str],
                  region_level: str) -> dict[str, list[str]]:
    """Each group's members at the analysis level. At city level a province code (xx0000)
    stands for every region of that province in the data (its cities and a provincial pool
    coded xx0000), so groups naming provinces, as the defaults do, work at both levels; a
    city code, or a province with no region in the data, stays as it is."""
    if region_level == "province":
        return {name: list(members) for name, members in groups.items()}
    expanded: dict[str, list[str]] = {}
    for name, members in groups.items():
        within = [sorted(r for r in regions if r[:2] == m[:2]) if m.endswith("0000") else []
                  for m in members]
        expanded[name] = list(dict.fromkeys(
            code for member, cities in zip(members, within, strict=True)
            for code in (cities or [member])))
    return expanded


def group_rules(spark: SparkSession, groups: Mapping[str, Sequence[str]],
                majority: Mapping[str, int]) -> DataFrame:
    """(group_name, rule, min_members, member): each group's members under each rule (from conf)."""
    rows = [(name, rule, k, member) for name, members in groups.items()
            for rule, k in ((UNION, 1), (MAJORITY, majority[name])) for member in members]
    return spark.createDataFrame(
        rows, "group_name string, rule string, min_members int, member string")


def group_use(stats: DataFrame, *, coverage: DataFrame, rules: DataFrame) -> DataFrame:
    """Where each member's insured used each common item the member does not cover yet: at
    home, and away wherever it will be covered (a region covering it now, or a fellow
    member). One row per group, rule, member (`insured_admdvs`), region and item, with the
    visits and fees there; items nobody used have no row."""
    covered, members = _covered(coverage), rules.select(*GROUP_KEY, "member")
    added = _added(covered, members, coverage)
    fellows = members.select(*GROUP_KEY, F.col("member").alias(TREATMENT),
                             F.lit(True).alias("_fellow"))
    covering_now = covered.select(F.col("member").alias(TREATMENT), "national_code",
                                  F.lit(True).alias("_now"))
    rows = (added.join(stats.withColumnRenamed(INSURED, "member"), ["member", "national_code"])
            .join(fellows, [*GROUP_KEY, TREATMENT], "left")
            .join(covering_now, [TREATMENT, "national_code"], "left"))
    home = F.col(TREATMENT) == F.col("member")
    return (rows.where(home | F.col("_fellow") | F.col("_now"))
            .select(*GROUP_KEY, F.col("member").alias(INSURED), TREATMENT, "national_code",
                    "visits", "fee"))


def _covered(coverage: DataFrame) -> DataFrame:
    return coverage.where("covered").select(F.col("region").alias("member"), "national_code")


def _added(covered: DataFrame, members: DataFrame, coverage: DataFrame) -> DataFrame:
    """(group key, member, national_code, covering_members): the common items each member
    with a catalog in the data does not cover yet."""
    held = members.join(covered, "member")
    common = (held.groupBy(*GROUP_KEY, "national_code")
              .agg(F.count("member").cast(LongType()).alias("covering_members"))
              .where(F.col("covering_members") >= F.col("min_members")))
    known = coverage.select(F.col("region").alias("member")).distinct()
    return (common.join(members.join(known, "member", "left_semi"), list(GROUP_KEY))
            .join(held, [*GROUP_KEY, "member", "national_code"], "left_anti"))


def group_harmonisation(use: DataFrame, *, coverage: DataFrame, rules: DataFrame,
                        national: DataFrame, class_offset: int = 2) -> DataFrame:
    """One row per group, rule, member and common item the member does not cover yet, with
    the member's use of it (`use`: `group_use`) at home and away."""
    added = _added(_covered(coverage), rules.select(*GROUP_KEY, "member"),
                   coverage).withColumnRenamed("member", INSURED)
    home = F.col(TREATMENT) == F.col(INSURED)
    totals = use.groupBy(*GROUP_KEY, INSURED, "national_code").agg(
        F.sum(F.when(home, F.col("visits")).otherwise(0)).alias("visits_home"),
        F.sum(F.when(home, F.col("fee")).otherwise(0)).alias("fee_home"),
        F.sum(F.when(~home, F.col("visits")).otherwise(0)).alias("visits_away"),
        F.sum(F.when(~home, F.col("fee")).otherwise(0)).alias("fee_away"),
    ).withColumns({"visits_total": F.col("visits_home") + F.col("visits_away"),
                   "fee_total": F.col("fee_home") + F.col("fee_away")})
    return (added.join(totals, [*GROUP_KEY, INSURED, "national_code"], "left")
            .fillna(0, subset=list(USE_COLUMNS))
            .transform(with_item_names, national=national, class_offset=class_offset)
            .select(*GROUP_KEY, INSURED, *ITEM_COLUMNS, "covering_members",
                    *[measure(c, F.col(c)) for c in USE_COLUMNS]))


def group_summary(harmonisation: DataFrame, *, rules: DataFrame, regions: DataFrame) -> DataFrame:
    """Per group and rule: each member's added items (members adding none included), those
    its insured used, visits and spend, and `in_data` (the member is one of `regions`, the
    analysis regions); and the group (`insured_admdvs` null): the items any member adds,
    visits and spend summed over members."""
    used = F.col("visits_total") > 0
    measures = [F.sum(F.when(used, 1).otherwise(0)).cast(LongType()).alias("items_used"),
                F.sum("visits_total").cast(LongType()).alias("visits"),
                amount(F.sum("fee_total")).alias("added_spend")]
    per_member = harmonisation.groupBy(*GROUP_KEY, INSURED).agg(
        F.count(F.lit(1)).cast(LongType()).alias("item_count"), *measures)
    every_member = (rules.select(*GROUP_KEY, F.col("member").alias(INSURED))
                    .join(per_member, [*GROUP_KEY, INSURED], "left")
                    .fillna(0, subset=list(SUMMARY_MEASURES[:-1]))
                    .join(regions.select(F.col("region").alias(INSURED),
                                         F.lit(True).alias("in_data")), INSURED, "left")
                    .withColumn("in_data", F.coalesce("in_data", F.lit(False))))
    items = harmonisation.groupBy(*GROUP_KEY, "national_code").agg(
        F.sum("visits_total").alias("visits_total"), F.sum("fee_total").alias("fee_total"))
    whole = (rules.select(*GROUP_KEY).distinct()
             .join(items.groupBy(*GROUP_KEY).agg(
                 F.count(F.lit(1)).cast(LongType()).alias("item_count"), *measures),
                 list(GROUP_KEY), "left")
             .fillna(0, subset=list(SUMMARY_MEASURES[:-1])))
    whole = whole.withColumns(
        {INSURED: F.lit(None).cast("string"), "in_data": F.lit(None).cast("boolean")})
    return every_member.unionByName(whole).select(*GROUP_KEY, INSURED, *SUMMARY_MEASURES)
