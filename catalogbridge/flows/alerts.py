"""Surge alerts for joint checks (双地联查): institutions whose cross-region billing jumps.

An institution's cross-region visits and fees (insured outside its region, at the flows'
region level) in each month or quarter are compared with a baseline period: the previous
one or the same one a year before. A rise of at least `alerts.surge_pct` on `alerts.measure`,
from a baseline of at least the minimum volume, is an alert; alerts are ranked by money at
stake (fees above the baseline). For each alert, the items and insured regions that drive
the rise, with their share of it. Tables are bounded by institutions x periods; only the
list of periods is collected.
"""

from __future__ import annotations

import logging

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from catalogbridge.columns import amount
from catalogbridge.flows.panel import ratio
from catalogbridge.flows.settings import AlertSettings
from catalogbridge.names import INSURED, TREATMENT, VISIT

log = logging.getLogger(__name__)

ALERT_KEY = ("fixmedins_code", TREATMENT, "period")
ITEM, INSURED_REGION = "item", "insured_region"


def period_of(month: Column, period: str) -> Column:
    """'YYYY-MM' -> itself (month) or 'YYYY-Qn' (quarter)."""
    if period == "month":
        return month
    return F.concat(F.substring(month, 1, 4), F.lit("-Q"),
                    F.ceil(F.substring(month, 6, 2).cast("int") / 3).cast("string"))


def shift_period(period_col: Column, months: int, period: str) -> Column:
    """The period `months` calendar months earlier (a multiple of the period's length)."""
    if period == "month":
        start = F.to_date(F.concat(period_col, F.lit("-01")))
        return F.date_format(F.add_months(start, -months), "yyyy-MM")
    quarter = F.substring(period_col, 7, 1).cast("int")
    start = F.make_date(F.substring(period_col, 1, 4).cast("int"), (quarter - 1) * 3 + 1, F.lit(1))
    return period_of(F.date_format(F.add_months(start, -months), "yyyy-MM"), period)


def baseline_months(alerts: AlertSettings) -> int:
    if alerts.baseline == "same_period_last_year":
        return 12
    return 1 if alerts.period == "month" else 3


def _cross(visits: DataFrame, alerts: AlertSettings) -> DataFrame:
    return visits.where((F.col(INSURED) != F.col(TREATMENT)) & F.col("fixmedins_code").isNotNull()) \
        .withColumn("period", period_of(F.col("month"), alerts.period))


def surge_alerts(visits: DataFrame, *, alerts: AlertSettings) -> DataFrame:
    """One row per (institution, period) that rose by at least surge_pct on its baseline."""
    cross = _cross(visits, alerts)
    per_period = cross.groupBy(*ALERT_KEY).agg(
        F.min("hosp_level").alias("hosp_level"), F.count(F.lit(1)).alias("visits"),
        amount(F.sum("fees")).alias("fees"))
    shift = baseline_months(alerts)
    periods = sorted(r[0] for r in per_period.select("period").distinct().collect())
    for period in _without_baseline(periods, shift, alerts):
        log.info("surge alerts: no data in the baseline period of %s (%s); no alert for it",
                 period, alerts.baseline)
    baseline = per_period.select(
        "fixmedins_code", TREATMENT, F.col("period").alias("baseline_period"),
        F.col("visits").alias("baseline_visits"), F.col("fees").alias("baseline_fees"))
    current = per_period.withColumn("baseline_period", shift_period(F.col("period"), shift,
                                                                    alerts.period))
    joined = current.join(baseline, ["fixmedins_code", TREATMENT, "baseline_period"], "inner")
    value, base = (("fees", "baseline_fees") if alerts.measure == "fees"
                   else ("visits", "baseline_visits"))
    rise = F.round((ratio(F.col(value), F.col(base)) - 1) * 100, 2)
    found = joined.withColumn("rise_pct", rise).where(
        (F.col("baseline_visits") >= alerts.min_baseline_visits)
        & (F.col("baseline_fees") >= alerts.min_baseline_fees)
        & (F.col("rise_pct") >= alerts.surge_pct))
    stake = amount(F.col("fees") - F.col("baseline_fees"))
    order = Window.orderBy(F.desc("money_at_stake"), F.desc("rise_pct"), *ALERT_KEY)
    return found.withColumns({"measure": F.lit(alerts.measure), "money_at_stake": stake}) \
        .withColumn("alert_rank", F.row_number().over(order)).select(
            "alert_rank", *ALERT_KEY, "hosp_level", "baseline_period", "visits",
            "baseline_visits", "fees", "baseline_fees", "measure", "rise_pct", "money_at_stake")


def _without_baseline(periods: list[str], shift: int, alerts: AlertSettings) -> list[str]:
    """Periods whose baseline period has no cross-region data at all (bounded: periods)."""
    if not periods:
        return []
    present = set(periods)
    return [p for p in periods if _shift_text(p, shift, alerts.period) not in present]


def _shift_text(period: str, months: int, kind: str) -> str:
    """`shift_period` on one period's text, on the driver (for the log lines)."""
    year = int(period[:4])
    month = int(period[5:7]) if kind == "month" else (int(period[6]) - 1) * 3 + 1
    index = year * 12 + month - 1 - months
    year, month = divmod(index, 12)
    return f"{year}-{month + 1:02d}" if kind == "month" else f"{year}-Q{month // 3 + 1}"


def surge_drivers(alerts_table: DataFrame, visits: DataFrame, clean: DataFrame, *,
                  alerts: AlertSettings) -> DataFrame:
    """Per alert: the top items and insured regions by their part of the rise (in the alert's
    measure), with fees and visits in both periods and their share of the whole rise."""
    keys = alerts_table.select("alert_rank", "fixmedins_code", TREATMENT, "period", "baseline_period")
    cross = _cross(visits, alerts)
    both = keys.select("alert_rank", "fixmedins_code", TREATMENT, F.col("period").alias("_p"),
                       F.lit(True).alias("_current")).unionByName(
        keys.select("alert_rank", "fixmedins_code", TREATMENT, F.col("baseline_period").alias("_p"),
                    F.lit(False).alias("_current")))
    involved = cross.join(F.broadcast(both), (cross["fixmedins_code"] == both["fixmedins_code"])
                          & (cross[TREATMENT] == both[TREATMENT]) & (cross["period"] == both["_p"])) \
        .select("alert_rank", "_current", VISIT, INSURED, "fees")
    item = F.coalesce(F.col("national_code"), F.concat(F.lit("local:"), F.col("medins_list_codg")))
    institutions = F.broadcast(keys.select("fixmedins_code").distinct())
    lines = clean.join(institutions, "fixmedins_code", "left_semi") \
        .select(VISIT, item.alias("code"), "det_item_fee_sumamt") \
        .join(involved.select("alert_rank", "_current", VISIT), VISIT) \
        .groupBy("alert_rank", "_current", "code", VISIT).agg(F.sum("det_item_fee_sumamt").alias("fees"))
    by_item = _contributions(lines, ITEM)
    by_region = _contributions(involved.withColumnRenamed(INSURED, "code"), INSURED_REGION)
    measure = "fees" if alerts.measure == "fees" else "visits"
    rise = Window.partitionBy("alert_rank", "driver")
    ranked = by_item.unionByName(by_region).withColumns({
        "contribution": F.col(measure) - F.col(f"baseline_{measure}"),
        "driver_rank": F.row_number().over(rise.orderBy(
            F.desc(F.col(measure) - F.col(f"baseline_{measure}")), "code")),
    })
    whole = alerts_table.select("alert_rank", (F.col(measure) - F.col(f"baseline_{measure}")).alias("_rise"))
    return ranked.where(F.col("driver_rank") <= alerts.top_drivers).join(whole, "alert_rank") \
        .withColumn("share_of_rise", F.round(ratio(F.col("contribution"), F.col("_rise")), 4)) \
        .drop("_rise").select("alert_rank", "driver", "driver_rank", "code", "visits",
                              "baseline_visits", "fees", "baseline_fees", "contribution",
                              "share_of_rise")


def _contributions(per_visit: DataFrame, driver: str) -> DataFrame:
    """Visits and fees of each code in the alert's period and baseline period."""
    def of(current: bool) -> Column:
        return F.col("_current") == current
    return per_visit.groupBy("alert_rank", "code").agg(
        F.countDistinct(F.when(of(True), F.col(VISIT))).alias("visits"),
        F.countDistinct(F.when(of(False), F.col(VISIT))).alias("baseline_visits"),
        amount(F.coalesce(F.sum(F.when(of(True), F.col("fees"))), F.lit(0))).alias("fees"),
        amount(F.coalesce(F.sum(F.when(of(False), F.col("fees"))), F.lit(0))).alias("baseline_fees"),
    ).withColumn("driver", F.lit(driver))
