"""Where in a treatment region patients from elsewhere go, against the region's own insured.

A hub "siphons" (虹吸) when patients from elsewhere crowd into a few top institutions more
than its own insured do. Per treatment region: the share of inflow visits and fees in its
top-N institutions (ranked by inflow visits) and per hospital tier, the same shares for the
region's own insured, and the preference index inflow share / own share (above 1: patients
from elsewhere prefer these institutions more than locals do).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from catalogbridge.columns import amount
from catalogbridge.flows.panel import ratio
from catalogbridge.names import INSURED, TREATMENT

TOP_INSTITUTIONS, HOSPITAL_TIER = "top_institutions", "hospital_tier"


def _shares(per_group: DataFrame, keys: list[str]) -> DataFrame:
    """Add inflow/own shares of visits and fees within each treatment region and the index
    (from the unrounded shares)."""
    region = Window.partitionBy(TREATMENT)
    shares = {}
    for who in ("inflow", "own"):
        for measure in ("visits", "fees"):
            column = f"{who}_{measure}"
            total = F.col(f"_{column}_total") if f"_{column}_total" in per_group.columns \
                else F.sum(column).over(region)
            shares[f"{column}_share"] = ratio(F.col(column), total)
    index = ratio(shares["inflow_visits_share"], shares["own_visits_share"])
    return per_group.withColumns({name: F.round(share, 4) for name, share in shares.items()}) \
        .withColumn("preference_index", F.round(index, 4)).select(
            TREATMENT, *keys, "inflow_visits", "inflow_visits_share", "own_visits",
            "own_visits_share", "preference_index", "inflow_fees", "inflow_fees_share",
            "own_fees", "own_fees_share")


def _by_institution(visits: DataFrame) -> DataFrame:
    inflow = F.col(INSURED) != F.col(TREATMENT)
    measures = []
    for who, where in (("inflow", inflow), ("own", ~inflow)):
        measures += [F.sum(F.when(where, 1).otherwise(0)).alias(f"{who}_visits"),
                     amount(F.coalesce(F.sum(F.when(where, F.col("fees"))), F.lit(0))).alias(f"{who}_fees")]
    return visits.where(F.col("fixmedins_code").isNotNull()) \
        .groupBy(TREATMENT, "fixmedins_code", "hosp_tier").agg(*measures)


def institution_concentration(visits: DataFrame, *, top_n: int, by_tier: bool) -> DataFrame:
    """Per treatment region: one `top_institutions` row (its top-N by inflow visits) and, when
    levels are known, one `hospital_tier` row per tier."""
    institutions = _by_institution(visits)
    region = Window.partitionBy(TREATMENT)
    totals = {f"_{w}_{m}_total": F.sum(f"{w}_{m}").over(region)
              for w in ("inflow", "own") for m in ("visits", "fees")}
    ranked = institutions.withColumns(totals).withColumn("_rank", F.row_number().over(
        region.orderBy(F.desc("inflow_visits"), F.desc("inflow_fees"), "fixmedins_code")))
    sums = [F.sum(c).alias(c) for c in ("inflow_visits", "own_visits")] + \
        [amount(F.sum(c)).alias(c) for c in ("inflow_fees", "own_fees")] + \
        [F.first(c).alias(c) for c in totals]
    top = ranked.where(F.col("_rank") <= top_n).groupBy(TREATMENT).agg(*sums).withColumns({
        "grouping": F.lit(TOP_INSTITUTIONS), "group": F.lit(f"top{top_n}")})
    out = _shares(top, ["grouping", "group"])
    if by_tier:
        tiers = institutions.groupBy(TREATMENT, F.col("hosp_tier").alias("group")).agg(
            *sums[:4]).withColumn("grouping", F.lit(HOSPITAL_TIER))
        out = out.unionByName(_shares(tiers, ["grouping", "group"]))
    return out
