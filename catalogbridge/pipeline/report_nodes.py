"""The nodes that present a run: the run summary and charts, the quality report, and the
HTML reports and workbooks (inputs and settings in, documents out; the runner writes them)."""

from __future__ import annotations

import logging
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from catalogbridge.decisions.settings import DecisionSettings
from catalogbridge.flows.settings import FlowSettings
from catalogbridge.names import PAIR
from catalogbridge.privacy.settings import PrivacySettings
from catalogbridge.quality.report import (
    build_report,
    delivery_months,
    records,
    redeliveries,
    render_markdown,
    share_changes,
)
from catalogbridge.quality.rules import QualitySettings
from catalogbridge.reporting.decision_charts import DecisionCharts
from catalogbridge.reporting.summary import (
    budget_summary,
    charted_pairs,
    decision_summary,
    run_summary,
)
from catalogbridge.reports.settings import ReportSettings
from catalogbridge.reports.writer import ReportTables
from catalogbridge.transforms.cleaning import AnalysisSettings
from catalogbridge.transforms.incremental import REDELIVERED
from catalogbridge.transforms.scenarios import ScenarioSettings

log = logging.getLogger("catalogbridge")

Outputs = dict[str, Any]


def summarise_run(*, schemes: DataFrame, clean: DataFrame, quarantine: DataFrame,
                  mapping: DataFrame, queue: DataFrame, discrepant: DataFrame, stats: DataFrame,
                  insured: DataFrame, groups: DataFrame, impact: DataFrame,
                  sensitivity: DataFrame, frontier: DataFrame, run_id: str, table_format: str,
                  charts: bool, decision: DecisionSettings) -> Outputs:
    """The run summary and, when charts are on, the rows of every chart: Figure 1 of each
    pair worth one, and each insured region's tornado, frontier and budget fan chart."""
    summary = run_summary(clean=clean, quarantine=quarantine, mapping=mapping, queue=queue,
                          schemes=schemes, discrepant=discrepant, charts=charts)
    summary["decisions"] = decision_summary(stats=stats, insured=insured, groups=groups)
    summary["decisions"]["budget"] = budget_summary(impact=impact, frontier=frontier,
                                                    budget=decision.budget)
    chart_rows = schemes.join(charted_pairs(schemes), list(PAIR), "left_semi")
    return {"exports/run_summary.json": {"run_id": run_id, "table_format": table_format, **summary},
            "exports/charts": chart_rows if charts else None,
            "exports/decision_charts": DecisionCharts(sensitivity, impact, frontier, insured)
            if charts else None}


def report_quality(*, clean: DataFrame, quarantine: DataFrame, recon: DataFrame,
                   deliveries: DataFrame, flows: DataFrame, previous: dict[str, Any] | None,
                   run_id: str, analysis: AnalysisSettings, quality: QualitySettings) -> Outputs:
    """This run's quality report beside the previous run's, with the shares that moved, the
    months delivered again and the codes the flow analyses could not read."""
    report: dict[str, Any] = {"run_id": run_id, **build_report(
        clean=clean, quarantine=quarantine, recon=recon, region_level=analysis.region_level)}
    report["flow_quality"] = records(flows.orderBy("check", "side", F.desc("lines"), "value"))
    months = delivery_months(deliveries, recon, period_start=analysis.period.start,
                             period_end=analysis.period.end)
    redeliveries(months, previous)
    report["deliveries"] = months
    for month in months:
        if month["change"] == REDELIVERED:
            log.warning("settlement month %s was delivered again with different files: %s rows "
                        "replace the %s rows of the previous run", month["month"] or "undated",
                        f"{month['rows']:,}", f"{month['previous_rows'] or 0:,}")
        if month["outside_period"]:
            log.warning("settlement month %s lies outside analysis.period: its %s rows are "
                        "quarantined as out_of_period unless their fee time is inside",
                        month["month"], f"{month['rows']:,}")
    alert_pct = quality.alert_share_change_pct
    report["previous_run_id"] = previous["run_id"] if previous else None
    report["previous_totals"] = previous["totals"] if previous else None
    report["alert_share_change_pct"] = alert_pct
    report["share_changes"] = share_changes(report, previous, alert_pct)
    for change in report["share_changes"]:
        if change["alert"]:
            log.warning("region %s: share of %s moved %+.2f points (now %.2f%%)",
                        change["region"], change["reason"], change["change_pct_points"],
                        change["share_pct"])
    return {"exports/quality_report.json": report, "exports/quality_report.md": render_markdown(report),
            "quality_history": report}


def run_parameters(*, run_id: str, analysis: AnalysisSettings, scenario: ScenarioSettings,
                   decision: DecisionSettings, privacy: PrivacySettings) -> tuple[tuple[str, str], ...]:
    """The settings a report's numbers depend on, as (Chinese label with conf key, value)."""
    period = analysis.period
    budget = decision.budget
    return (
        ("运行编号 run_id", run_id),
        ("地区层级 analysis.region_level", analysis.region_level),
        ("分析期间 analysis.period", f"{period.start or '不限'} 至 {period.end or '不限'}"),
        ("医疗类别 analysis.med_types", ", ".join(analysis.med_types) or "全部"),
        ("就医地方案阈值（人次） scenario.thresholds", ", ".join(map(str, scenario.thresholds))),
        ("方案范围 scenario.scope", scenario.scope),
        ("参保地方案阈值 decision.thresholds",
         ", ".join(map(str, decision.thresholds or scenario.thresholds))),
        ("参保地阈值口径 decision.threshold_on", decision.threshold_on),
        ("预测年数 decision.budget.horizon_years", str(budget.horizon_years)),
        ("基金支付比例 decision.budget.fund_share",
         f"{budget.fund_share:g}" + (f"（另有 {len(budget.fund_share_by)} 条细分规则）"
                                     if budget.fund_share_by else "")),
        ("诱导需求 / 价格变化 / 年增长", f"{budget.induced_demand:g} / {budget.price_change:g} / "
                                       f"{budget.growth:g}"),
        ("纳入节奏 decision.budget.uptake", budget.uptake),
        ("蒙特卡洛抽样次数 decision.budget.draws", str(budget.draws)),
        ("小格抑制阈值 privacy.min_cell", f"{privacy.min_cell}（隐藏值显示为 {privacy.mark}）"),
    )


def write_reports(*, run_id: str, report: ReportSettings, flows: FlowSettings,
                  analysis: AnalysisSettings, scenario: ScenarioSettings, decision: DecisionSettings,
                  privacy: PrivacySettings, **tables: DataFrame) -> Outputs:
    """An HTML report and a workbook per insured region, the national overview and an index
    (internal: budget, flows and alerts are exact; counts come from the published tables)."""
    if not report.enabled:
        return {"exports/reports": None}
    names = flows.regions()
    return {"exports/reports": ReportTables(
        tables, report, run_parameters(run_id=run_id, analysis=analysis, scenario=scenario,
                                       decision=decision, privacy=privacy),
        dict(zip(names["code"].astype(str), names["name"].astype(str), strict=True)), run_id)}
