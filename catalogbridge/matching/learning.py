"""Learning from reviewers: accepted decisions become rules for every other catalog item.

Two kinds of rule, each applied only where an item shows the same evidence as the decision:

* **alias**: the reviewed name's normalised key means the decided code. Any other item still
  without a code whose key is the same (another province, another local code) gets that code.
* **qualifier**: the reviewed name read as a family name plus a qualifier the vocabulary does
  not know (`qualifier` = `unknown:Q`) and the reviewer chose the family's main item, which the
  matcher had shown first. Q then means "no other item": an item whose name reads as any
  family name plus the same Q gets its own family's main item.

A key or qualifier that reviewers decided in conflicting ways teaches nothing. Rules come from
the reviewed rows only (bounded by the decisions file), are broadcast, and never override an
automatic match or a decision; the items they resolve get method `learned`.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from catalogbridge.names import AUTO, LEARNED, NEEDS_REVIEW, NO_CANDIDATE, REVIEWED, UNMATCHED
from udfs.families import UNKNOWN


def _consistent(rows: DataFrame, key: str, value: str) -> DataFrame:
    """One value per key, and only where every decision agrees on it."""
    return (rows.groupBy(key).agg(F.collect_set(value).alias("_values"))
            .where(F.size("_values") == 1)
            .select(key, F.element_at("_values", 1).alias(value)))


def learned_rules(mapping: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(aliases: match_key -> code, qualifiers: the unknown qualifiers confirmed as no-ops)."""
    reviewed = mapping.where((F.col("review_status") == REVIEWED)
                             & F.col("national_code").isNotNull())
    aliases = _consistent(reviewed.where(F.col("match_key") != ""), "match_key",
                          "national_code").withColumnRenamed("national_code", "_alias_code")
    read = reviewed.where(F.col("qualifier").startswith(f"{UNKNOWN}:")).withColumn(
        "_is_main", F.col("national_code") == F.try_element_at("candidate_codes", F.lit(1)))
    qualifiers = _consistent(read, "qualifier", "_is_main").where("_is_main").drop("_is_main")
    return aliases, qualifiers


def apply_learning(mapping: DataFrame, *, national: DataFrame) -> DataFrame:
    """Items still waiting for review that a learned rule resolves (see the module)."""
    aliases, qualifiers = learned_rules(mapping)
    names = F.broadcast(national.select(F.col("national_code").alias("_learned"),
                                        F.col("national_name").alias("_learned_name")))
    waiting = (F.col("method") == UNMATCHED) & F.col("decision_action").isNull() & F.col(
        "review_status").isin(NEEDS_REVIEW, NO_CANDIDATE)
    by_qualifier = F.when(F.col("_learned_qualifier"),
                          F.try_element_at("candidate_codes", F.lit(1)))
    joined = (mapping
              .join(F.broadcast(aliases), "match_key", "left")
              .join(F.broadcast(qualifiers.withColumn("_learned_qualifier", F.lit(True))),
                    "qualifier", "left")
              .withColumn("_code", F.when(waiting, F.coalesce("_alias_code", by_qualifier)))
              .join(names, F.col("_code") == F.col("_learned"), "left"))
    learned = F.col("_learned").isNotNull()

    def overlay(value: Column, column: str) -> Column:
        return F.when(learned, value).otherwise(F.col(column)).alias(column)

    replaced = {"national_code": overlay(F.col("_learned"), "national_code"),
                "national_name": overlay(F.col("_learned_name"), "national_name"),
                "method": overlay(F.lit(LEARNED), "method"),
                "review_status": overlay(F.lit(AUTO), "review_status")}
    return joined.select(*[replaced.get(c, F.col(c)) for c in mapping.columns])
