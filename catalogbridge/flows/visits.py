"""Clean settlement lines -> one row per visit with what the flow analyses group by.

Every flow measure counts visits and persons, so the lines are summed to visits once and the
analyses read that (much smaller) table. A visit belongs to the month of its first clean line,
so monthly visits add up to the period's; persons (distinct `psn_no`) do not add up and are
counted per group from this table.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from catalogbridge.columns import amount, lookup, region_of
from catalogbridge.flows.settings import FlowSettings
from catalogbridge.io.contracts import SETTLEMENTS
from catalogbridge.names import FEE, INSURED, TIME, TREATMENT, VISIT

log = logging.getLogger(__name__)

# Where a visit took place, seen from the insured's home (异地就医层级), from the raw codes.
LOCAL, INTRA_PROVINCE, INTER_PROVINCE, PROVINCE_ONLY = (
    "local", "intra_province", "inter_province", "same_province_city_unknown")
UNKNOWN, NOT_RECORDED = "unknown", "not_recorded"
UNGRADED = "未定级"
TIERS = ("三级", "二级", "一级")

# Optional settlement columns, the visit column each one fills and what it enables.
ENABLES: Mapping[str, tuple[str, str]] = {
    "fixmedins_code": ("fixmedins_code", "institution concentration and surge alerts"),
    "filing_type": ("filing_type_raw", "the filing-type mix of who travels"),
    "psn_type": ("psn_type", "the person-type mix of who travels"),
    "hosp_lv": ("hosp_level_raw", "the hospital-tier mix and concentration by tier "
                                  "(or give inputs.institutions with hosp_lv)"),
    "fund_pay_sumamt": ("fund_paid", "fund-paid amounts and the fund's share of fees"),
    "begntime": ("stay_days", "length of stay (with endtime)"),
}

# Their types as the input contract gives them (absent columns become typed nulls).
OPTIONAL_TYPES = {c: SETTLEMENTS.optional[c] for c in (*ENABLES, "endtime")}


def present_columns(visits: DataFrame) -> dict[str, bool]:
    """Which optional settlement columns carried any value (one aggregate row, collected);
    one log line for each that did not, naming what it would enable."""
    row = visits.agg(*[F.count(c).alias(name) for name, (c, _) in ENABLES.items()]).first()
    found = {name: bool(row and row[name]) for name in ENABLES}
    for column, (_, enables) in ENABLES.items():
        if not found[column]:
            log.info("flows: settlement column %s has no values; %s skipped (map your header to "
                     "%s under inputs.settlements.columns to enable it)", column, enables, column)
    return found


def cross_level(insured: Column, treatment: Column) -> Column:
    """local / intra_province / inter_province from two 6-digit codes; a province-level code
    on either side of a same-province visit leaves the city unknown."""
    same_province = F.substring(insured, 1, 2) == F.substring(treatment, 1, 2)
    city_known = (F.substring(insured, 3, 2) != "00") & (F.substring(treatment, 3, 2) != "00")
    same_city = F.substring(insured, 1, 4) == F.substring(treatment, 1, 4)
    return (F.when(~same_province, F.lit(INTER_PROVINCE))
            .when(~city_known, F.when(insured == treatment, F.lit(LOCAL))
                  .otherwise(F.lit(PROVINCE_ONLY)))
            .when(same_city, F.lit(LOCAL)).otherwise(F.lit(INTRA_PROVINCE)))


def coded_name(value: Column, names: Mapping[str, str]) -> Column:
    """A code or a name of `names` -> the name; any other text -> `unknown`; blank -> null."""
    text = F.trim(value)
    known = F.coalesce(lookup(names, text), lookup({n: n for n in names.values()}, text))
    return F.when(text.isNull() | (text == ""), F.lit(None).cast("string")) \
        .otherwise(F.coalesce(known, F.lit(UNKNOWN)))


def hospital_tier(level_name: Column) -> Column:
    """三级 / 二级 / 一级 from a level name; ungraded, unknown or missing -> 未定级."""
    tier = F.substring(level_name, 1, 2)
    return F.when(tier.isin(*TIERS), tier).otherwise(F.lit(UNGRADED))


def flow_visits(clean: DataFrame, *, flows: FlowSettings, institutions: DataFrame | None) -> DataFrame:
    """One row per (visit, pair): keys at `flows.region_level`, cross level, month, the visit's
    attributes and its lines, fees and fund-paid amount."""
    absent = {c: F.lit(None).cast(t) for c, t in OPTIONAL_TYPES.items() if c not in clean.columns}
    lines = clean.withColumns(absent).withColumns({
        INSURED: region_of(F.col("insuplc_admdvs"), flows.region_level),
        TREATMENT: region_of(F.col("mdtrtarea_admvs"), flows.region_level),
        "cross_level": cross_level(F.col("insuplc_admdvs"), F.col("mdtrtarea_admvs")),
        "filing_type_raw": F.trim("filing_type"),
    })
    minimum = {c: F.min(c).alias(c) for c in ("psn_no", "med_type", "cross_level",
                                               "fixmedins_code", "psn_type", "filing_type_raw",
                                               "hosp_lv", "begntime")}
    visits = lines.groupBy(VISIT, INSURED, TREATMENT).agg(
        *minimum.values(), F.max("endtime").alias("endtime"),
        F.date_format(F.min(TIME), "yyyy-MM").alias("month"),
        F.count(F.lit(1)).alias("lines"), amount(F.sum(FEE)).alias("fees"),
        amount(F.sum("fund_pay_sumamt")).alias("fund_paid"))
    level = F.col("hosp_lv")
    if institutions is not None and "hosp_lv" in institutions.columns:
        listed = institutions.where(F.col("hosp_lv").isNotNull()).groupBy("fixmedins_code") \
            .agg(F.min("hosp_lv").alias("_listed_level"))
        visits = visits.join(F.broadcast(listed), "fixmedins_code", "left")
        level = F.coalesce(level, F.col("_listed_level"))
    level_name = coded_name(level, flows.hospital_levels)
    filing = coded_name(F.col("filing_type_raw"), flows.filing_types)
    return visits.select(
        VISIT, "psn_no", INSURED, TREATMENT, "cross_level", "med_type", "month",
        "fixmedins_code", F.trim(level).alias("hosp_level_raw"), level_name.alias("hosp_level"),
        hospital_tier(level_name).alias("hosp_tier"),
        F.when(F.col("cross_level") == LOCAL, filing)
        .otherwise(F.coalesce(filing, F.lit(NOT_RECORDED))).alias("filing_type"),
        "filing_type_raw", "psn_type",
        (F.datediff("endtime", "begntime") + 1).alias("stay_days"),
        "lines", "fees", "fund_paid")
