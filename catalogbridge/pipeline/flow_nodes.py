"""The nodes of the cross-region care analytics (`catalogbridge.flows`).

What they collect on the driver is bounded by regions, region pairs, months and alerts:
the list of months and regions, the pair table for the distance model (at most n x (n - 1)
rows for n regions), never visits or lines.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from catalogbridge.flows.alerts import surge_alerts, surge_drivers
from catalogbridge.flows.checks import flow_quality
from catalogbridge.flows.concentration import institution_concentration
from catalogbridge.flows.distance import PAIR_SCHEMA, SUMMARY_SCHEMA, fit_gravity, pair_access
from catalogbridge.flows.panel import ALL, flow_balance, flow_destinations, flow_panel
from catalogbridge.flows.settings import FlowSettings
from catalogbridge.flows.travellers import DIMENSIONS, cost_benchmarks, traveller_mix
from catalogbridge.flows.visits import flow_visits, present_columns
from catalogbridge.names import (
    COST_BENCHMARKS,
    FLOW_BALANCE,
    FLOW_CONCENTRATION,
    FLOW_DESTINATIONS,
    FLOW_DISTANCE,
    FLOW_GRAVITY,
    FLOW_PANEL,
    FLOW_QUALITY,
    FLOW_TRAVELLERS,
    FLOW_VISITS,
    SURGE_ALERTS,
    SURGE_DRIVERS,
)
from catalogbridge.reporting.flow_charts import TOP_ALERTS, FlowChartTables

Outputs = dict[str, Any]
# The settlement column behind each traveller dimension (med_type is required).
_DIMENSION_SOURCE = {"filing_type": "filing_type", "psn_type": "psn_type", "hosp_tier": "hosp_lv"}


def summarise_visits(*, clean: DataFrame, institutions: DataFrame | None,
                     flows: FlowSettings) -> Outputs:
    """Sum clean lines to visits with their pair, month, institution and traveller attributes."""
    return {FLOW_VISITS: flow_visits(clean, flows=flows, institutions=institutions)}


def analyse_flows(*, visits: DataFrame, spark: SparkSession, flows: FlowSettings) -> Outputs:
    """Flow panel, origin-destination shares, balance, concentration, distance decay, who
    travels, cost benchmarks and what could not be read."""
    visits = visits.cache()  # read by every table below; the stage's end releases it
    present = present_columns(visits)
    regions = flows.regions()
    destinations = flow_destinations(visits).cache()  # collected for the model and written
    balance = flow_balance(visits).cache()  # its regions are collected, then it is written
    codes = [r[0] for r in balance.select("admdvs").collect()]  # bounded: regions
    access, gravity = fit_gravity(pair_access(destinations.toPandas(), regions, codes,
                                              flows.region_level))  # bounded: region pairs
    months = [r[0] for r in visits.select("month").distinct().collect()]  # bounded: months
    dimensions = [d for d in DIMENSIONS if d == "med_type" or present[_DIMENSION_SOURCE[d]]]
    return {
        FLOW_PANEL: flow_panel(visits),
        FLOW_DESTINATIONS: destinations,
        FLOW_BALANCE: balance,
        FLOW_CONCENTRATION: institution_concentration(
            visits, top_n=flows.top_institutions, by_tier=present["hosp_lv"]),
        FLOW_DISTANCE: spark.createDataFrame(access, PAIR_SCHEMA),
        FLOW_GRAVITY: spark.createDataFrame(gravity, SUMMARY_SCHEMA),
        FLOW_TRAVELLERS: traveller_mix(visits, dimensions=dimensions, months=months),
        COST_BENCHMARKS: cost_benchmarks(visits),
        FLOW_QUALITY: flow_quality(visits, spark=spark, reference_codes=list(
            regions.loc[regions["level"] == flows.region_level, "code"])),
    }


def raise_surge_alerts(*, visits: DataFrame, flows: FlowSettings) -> Outputs:
    """Institutions whose cross-region billing rose by alerts.surge_pct or more."""
    return {SURGE_ALERTS: surge_alerts(visits, alerts=flows.alerts)}


def explain_surges(*, alerts: DataFrame, visits: DataFrame, clean: DataFrame,
                   flows: FlowSettings) -> Outputs:
    """The items and insured regions behind each surge alert, with their share of the rise."""
    return {SURGE_DRIVERS: surge_drivers(alerts, visits, clean, alerts=flows.alerts)}


def draw_flow_charts(*, destinations: DataFrame, balance: DataFrame, panel: DataFrame,
                     distance: DataFrame, gravity: DataFrame, alerts: DataFrame,
                     flows: FlowSettings, charts: bool) -> Outputs:
    """Flow matrix, balance, monthly trend, distance decay and the top surge alerts as PNGs."""
    if not charts:
        return {"exports/flow_charts": None}
    regions = flows.regions()
    monthly = panel.where((F.col("med_type") == ALL) & (F.col("period") != ALL))
    return {"exports/flow_charts": FlowChartTables(  # bounded: regions, pairs x months, 15 alerts
        destinations=destinations.toPandas(), balance=balance.toPandas(),
        monthly=monthly.toPandas(), distance=distance.toPandas(), gravity=gravity.toPandas(),
        alerts=alerts.orderBy("alert_rank").limit(TOP_ALERTS).toPandas(),
        region_names=dict(zip(regions["code"], regions["name"], strict=True)))}
