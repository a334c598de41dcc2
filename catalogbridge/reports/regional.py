"""The report of one insured region: the paper's picture for each treatment region (summary,
Tables 1-4, Figure 1), then the region's decision, its groups, budget, sensitivity and
budget-optimal selection, flows, surge alerts and the quality of its data.

Pure pandas on one region's rows (`REGION_TABLES`), so a report is built and tested without
Spark; tables of counts are the published copies (hidden values show the privacy mark).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from catalogbridge.names import INSURED, TREATMENT
from catalogbridge.reports.context import Context
from catalogbridge.reports.model import Figures, Part, Picture, Report, Section, Table

# name -> (columns besides insured_admdvs, order within the region)
REGION_TABLES: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pair_schemes": ((TREATMENT, "scheme", "threshold", "item_count", "visits", "visits_retention_pct",
                      "added_spend", "spend_decline_pct"), (TREATMENT, "scheme")),
    "pair_classes": ((TREATMENT, "grouping", "group_code", "group_name", "item_count",
                      "visits_treatment", "visits_treatment_pct", "fee_treatment", "fee_treatment_pct",
                      "visits_home", "fee_home", "fee_total", "fee_total_pct"),
                     (TREATMENT, "grouping", "group_code")),
    "pair_items": ((TREATMENT, "national_code", "national_name", "class_l1", "class_l2", "function",
                    "visits_treatment", "fee_treatment", "visits_home", "fee_home"),
                   (TREATMENT, "national_code")),
    "decisions": (("national_code", "national_name", "class_l1", "function", "covering_regions",
                   "visits_away", "fee_away", "visits_home", "fee_home", "visits_total", "fee_total"),
                  ("national_code",)),
    "insured_schemes": (("scheme", "threshold", "item_count", "visits", "visits_retention_pct",
                         "added_spend", "spend_decline_pct"), ("scheme",)),
    "impact": (("scheme", "year", "fees_new", "fund_impact", "patient_relief", "fund_impact_to_date",
                "psa_median", "psa_low", "psa_high", "psa_low_to_date", "psa_high_to_date"),
               ("scheme", "year")),
    "sensitivity": (("parameter", "low_offset", "high_offset", "impact_base", "impact_low",
                     "impact_high", "swing", "swing_rank"), ("swing_rank",)),
    "frontier": (("cap_index", "cap", "item_count", "visits", "spend", "visits_pct", "spend_pct",
                  "plateau"), ("cap_index",)),
    "comparison": (("scheme", "threshold", "scheme_items", "scheme_visits", "scheme_spend",
                    "optimal_items", "optimal_visits", "optimal_spend", "extra_visits"), ("scheme",)),
    "destinations": ((TREATMENT, "rank", "persons", "visits", "fees", "visit_share", "fee_share",
                      "fees_per_visit", "fund_share"), ("rank",)),
    "benchmarks": ((TREATMENT, "visits", "fees_per_visit", "home_fees_per_visit", "own_fees_per_visit",
                    "visit_cost_vs_home", "visit_cost_vs_own", "fund_share", "home_fund_share"),
                   (TREATMENT,)),
    "alerts": (("touch", "alert_rank", "fixmedins_code", TREATMENT, "period", "hosp_level",
                "baseline_period", "visits", "baseline_visits", "fees", "baseline_fees", "rise_pct",
                "money_at_stake"), ("alert_rank",)),
}


def _first(frame: pd.DataFrame, column: str, where: pd.Series | None = None) -> str:
    rows = frame if where is None else frame[where]
    return "—" if rows.empty or pd.isna(rows[column].iloc[0]) else str(rows[column].iloc[0])


def _yuan(value: object) -> str:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return str(value) if pd.isna(number) else f"{number:,.2f} 元"


def _count(value: object) -> str:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return str(value) if pd.isna(number) else f"{int(number):,}"


def _picture(ctx: Context, path: str, key: str, title: str, note: str) -> tuple[Part, ...]:
    png = ctx.chart(path)
    return () if png is None else (Picture(key, title, note, png),)


def _summary(region: str, t: Mapping[str, pd.DataFrame], ctx: Context) -> Section:
    first = t["pair_schemes"][t["pair_schemes"]["scheme"] == 1].drop(columns=["scheme"])
    counts = t["pair_items"].groupby(TREATMENT).size().rename("items").reset_index()
    overview = counts.merge(first, on=TREATMENT, how="right").fillna({"items": 0})
    overview["items"] = overview["items"].astype(int)
    overview = overview.sort_values(["items", TREATMENT], ascending=[False, True])
    scheme_1 = t["insured_schemes"]["scheme"] == 1
    figures = Figures((
        ("有异地就医的就医地", f"{t['pair_schemes'][TREATMENT].nunique():,}"),
        ("可纳入的差异项目", f"{len(t['decisions']):,}"),
        ("方案1纳入项目", _count(_first(t["insured_schemes"], "item_count", scheme_1))),
        ("方案1就诊人次", _count(_first(t["insured_schemes"], "visits", scheme_1))),
        ("方案1新增医保支出", _yuan(_first(t["insured_schemes"], "added_spend", scheme_1)))))
    table = Table("overview", "各就医地差异项目概况", (
        "每行一个就医地：差异项目数（就医地目录覆盖、本地目录未覆盖且本地参保人在该地使用过的项目），"
        "以及方案1（全部治疗性差异项目）的项目数、就诊人次和新增医保支出。按差异项目数从多到少排列。"),
        overview[[TREATMENT, "items", "item_count", "visits", "added_spend"]])
    return Section("summary", "概览", (
        f"{ctx.name(region)}参保人员异地就医时，按就医地目录结算、按参保地待遇支付。本报告列出就医地目录"
        "覆盖而参保地目录未覆盖的医疗服务项目（差异项目）及将其纳入参保地目录的方案和基金影响"
        "（方法：就医地项目→国家医保编码→参保地项目，黄等 2025）。"), (figures, table))


def _decision(t: Mapping[str, pd.DataFrame], ctx: Context) -> Section:
    schemes = Table("insured_schemes", "参保地纳入方案（表4）", (
        "对本地区所有可纳入项目（各就医地差异项目的并集）按阈值设定方案：纳入在其他地区就诊人次不低于"
        "阈值的治疗性项目；人次与新增支出合计本地参保人在各地（含本地）的使用，本地使用只计一次。"
        "保留率与降幅以方案1为基准。"), t["insured_schemes"])
    items = Table("decisions", "可纳入项目清单", (
        "本地区目录未覆盖、本地参保人在覆盖它的地区使用过的项目：覆盖地区、异地与本地就诊人次和费用。"
        "按国家编码排列。"), t["decisions"], shown=ctx.settings.page_rows)
    return Section("decision", "参保地决策视图", "一个省份为全体参保人一次决策：以下为合并各就医地后的视图。",
                   (schemes, items))


def _groups(region: str, ctx: Context) -> Section:
    groups = ctx.aggregates.groups
    mine = groups[groups[INSURED] == region]
    if mine.empty:
        return Section("groups", "区域组协同", omitted="本地区不属于配置中的任何区域组（decision.groups）。")
    rows = groups[groups["group_name"].isin(mine["group_name"])].copy()
    rows[INSURED] = rows[INSURED].fillna("")
    rows = rows.sort_values(["group_name", "rule", INSURED])
    table = Table("groups", "区域组共同目录", (
        "本地区所在区域组按共同目录规则（union：任一成员覆盖即纳入；majority：不少于最少成员数覆盖）"
        "需新增的项目数、有使用的项目数、就诊人次与新增支出；参保地为空的行为全组合计。"),
        rows[["group_name", "rule", "min_members", INSURED, "item_count", "items_used", "visits",
              "added_spend"]])
    return Section("groups", "区域组协同", "区域组成员采用共同目录时，各成员需要新增的项目。", (table,))


def _budget(region: str, t: Mapping[str, pd.DataFrame], ctx: Context) -> Section:
    impact = t["impact"]
    if impact.empty:
        return Section("budget", "多年预算影响", omitted="本地区没有可测算的方案（无异地使用的差异项目）。")
    last = impact.sort_values("year").groupby("scheme", as_index=False).last()
    horizon = Table("budget_horizon", "各方案预测期累计基金新增支出", (
        "每个阈值方案在预测期末累计的基金新增支出（基准情形）及蒙特卡洛95%区间。"),
        last[["scheme", "year", "fund_impact_to_date", "psa_low_to_date", "psa_high_to_date"]])
    yearly = Table("budget_yearly", "方案1逐年预算影响", (
        "方案1每年的纳入后费用、基金新增支出、个人负担减轻及其区间；考虑诱导需求、价格变化、增长与纳入节奏。"),
        impact[impact["scheme"] == 1].drop(columns=["scheme", "psa_low_to_date", "psa_high_to_date"]))
    fan = _picture(ctx, f"internal/charts/budget_{region}.png", "budget_chart", "方案1逐年预算影响图",
                   "实线为基准情形，阴影为蒙特卡洛95%区间。")
    return Section("budget", "多年预算影响", "基金实际负担份额按医疗类别的支付比例计算（decision.budget）。",
                   (horizon, yearly, *fan))


def _sensitivity(region: str, t: Mapping[str, pd.DataFrame], ctx: Context) -> Section:
    if t["sensitivity"].empty:
        return Section("sensitivity", "敏感性分析", omitted="本地区没有可做敏感性分析的方案1。")
    tornado = _picture(ctx, f"internal/charts/tornado_{region}.png", "tornado_chart", "龙卷风图",
                       "条形越长，该参数对预测期基金新增支出的影响越大。")
    table = Table("sensitivity", "方案1敏感性（单因素）", (
        "每个参数取低值和高值时方案1预测期基金新增支出的变化；按波动幅度排序。"), t["sensitivity"])
    return Section("sensitivity", "敏感性分析", "", (*tornado, table))


def _selection(region: str, t: Mapping[str, pd.DataFrame], ctx: Context) -> Section:
    if t["frontier"].empty:
        return Section("selection", "预算最优选择", omitted="本地区没有预算最优选择的结果。")
    comparison = Table("comparison", "阈值方案与同等预算下的最优组合", (
        "同样的支出，按预算最优选择能覆盖多少就诊人次：extra 为最优组合比阈值方案多覆盖的人次。"),
        t["comparison"])
    chart = _picture(ctx, f"internal/charts/frontier_{region}.png", "frontier_chart", "预算最优前沿",
                     "曲线为各预算下最多可覆盖的人次，点为阈值方案；曲线变平处为效率平台期。")
    frontier = Table("frontier", "预算最优前沿", (
        "各预算上限下最优项目组合的项目数、人次与支出（占方案1的比例）；平台期表示再增加预算收益很小。"),
        t["frontier"], shown=ctx.settings.page_rows)
    return Section("selection", "预算最优选择", "", (comparison, *chart, frontier))


def _pair(region: str, treatment: str, t: Mapping[str, pd.DataFrame], ctx: Context) -> Section:
    schemes = t["pair_schemes"][t["pair_schemes"][TREATMENT] == treatment].drop(columns=[TREATMENT])
    classes = t["pair_classes"][t["pair_classes"][TREATMENT] == treatment].drop(columns=[TREATMENT])
    items = t["pair_items"][t["pair_items"][TREATMENT] == treatment].drop(columns=[TREATMENT])
    tables = (
        Table(f"t4_{treatment}", f"{ctx.name(treatment)}：纳入方案（表4）", (
            "方案n纳入在就医地就诊人次不低于阈值的治疗性差异项目；人次与新增支出合计就医地与参保地的使用。"),
            schemes),
        Table(f"t13_{treatment}", f"{ctx.name(treatment)}：差异项目分类与功能（表1-3）", (
            "差异项目按一级、二级分类和功能（诊断性/治疗性）的项目数、人次和费用及占比。"), classes),
        Table(f"items_{treatment}", f"{ctx.name(treatment)}：差异项目清单", (
            "差异项目的国家编码、名称、分类与功能，以及在就医地与参保地的人次和费用；按国家编码排列。"),
            items, shown=ctx.settings.page_rows))
    png = ctx.scheme_chart(region, treatment, schemes)
    figure = () if png is None else (Picture(f"fig1_{treatment}", "纳入方案图（图1）",
                                             "柱为就诊人次，折线为新增医保支出（万元）。", png),)
    return Section(f"pair_{treatment}", f"就医地：{ctx.name(treatment)}",
                   f"{ctx.name(region)}参保人员在{ctx.name(treatment)}就医的差异项目。",
                   (tables[0], *figure, tables[1], tables[2]))


def _flows(region: str, t: Mapping[str, pd.DataFrame], ctx: Context) -> Section:
    balance = ctx.aggregates.of("balance", "admdvs", region)
    if t["destinations"].empty and balance.empty:
        return Section("flows", "跨区域就医流向",
                       omitted="数据中没有本地区的流向（或缺少流向分析所需的列）。")
    parts: list[Part] = []
    if not balance.empty:
        row = balance.iloc[0]
        rate, ratio = row["outflow_rate"], row["inflow_outflow_ratio"]
        parts.append(Figures((
            ("外出就诊人次", _count(row["outflow_visits"])),
            ("外出就医率", f"{rate * 100:.1f}%" if pd.notna(rate) else "—"),
            ("流入就诊人次", _count(row["inflow_visits"])),
            ("流入/流出", f"{ratio:.2f}" if pd.notna(ratio) else "—"))))
    parts.append(Table("destinations", "主要就医去向", (
        "本地参保人外出就医的去向，按就诊人次排名：人数、人次、费用及占本地外出的比例。"),
        t["destinations"], shown=ctx.settings.page_rows))
    parts.append(Table("benchmarks", "异地就医费用对比", (
        "本地参保人在各就医地的次均费用，与其在本地就医（参保地）和就医地本地参保人相比；比值大于1表示更贵。"),
        t["benchmarks"], shown=ctx.settings.page_rows))
    return Section("flows", "跨区域就医流向", "", tuple(parts))


def _alerts(t: Mapping[str, pd.DataFrame]) -> Section:
    if t["alerts"].empty:
        return Section("alerts", "异常增长预警", omitted="本期没有涉及本地区的异常增长预警。")
    return Section("alerts", "异常增长预警", "", (Table("alerts", "涉及本地区的预警", (
        "异地就医费用或人次较基期增幅超过阈值的机构：本地机构（touch=institution）或增量主要来自本地参保人"
        "（touch=insured）；按高出基期金额排名。"), t["alerts"]),))


def _quality(region: str, ctx: Context) -> Section:
    agg = ctx.aggregates
    reasons = agg.of("quarantine", INSURED, region).sort_values("rows", ascending=False)
    coverage = agg.of("coverage", INSURED, region)
    queue = agg.of("queue", "catalog_region", region)
    clean = int(coverage["rows"].sum()) if not coverage.empty else 0
    quarantined = int(reasons["rows"].sum()) if not reasons.empty else 0
    fees = float(coverage["fees"].sum()) if not coverage.empty else 0.0
    mapped = float(coverage["mapped_fees"].sum()) if not coverage.empty else 0.0
    total = clean + quarantined
    figures = Figures((
        ("本地参保人明细行", f"{total:,}"),
        ("隔离行占比", f"{quarantined / total * 100:.2f}%" if total else "—"),
        ("已映射到国家编码的费用占比", f"{mapped / fees * 100:.2f}%" if fees else "—"),
        ("本地目录待审核项目", f"{int(queue['items'].sum()) if not queue.empty else 0:,}"),
        ("待审核项目涉及费用", _yuan(queue["fee_at_stake"].sum() if not queue.empty else 0))))
    table = Table("quarantine", "隔离行的原因", (
        "本地参保人的结算明细中被隔离（未参与统计）的行数和费用，按首要原因；每一行都可在隔离表中按文件和行号找到。"),
        reasons)
    return Section("quality", "数据质量与映射覆盖", "", (figures, table))


def region_report(region: str, t: Mapping[str, pd.DataFrame], ctx: Context) -> Report:
    """The report of insured region `region` from its rows of `REGION_TABLES`."""
    pairs = (t["pair_items"].groupby(TREATMENT).size().sort_values(ascending=False, kind="stable")
             if not t["pair_items"].empty else pd.Series(dtype=int))
    sections = (_summary(region, t, ctx), _decision(t, ctx), _groups(region, ctx),
                _budget(region, t, ctx), _sensitivity(region, t, ctx), _selection(region, t, ctx),
                *(_pair(region, str(treatment), t, ctx) for treatment in sorted(
                    pairs.index, key=lambda c: (-int(pairs[c]), c))),
                _flows(region, t, ctx), _alerts(t), _quality(region, ctx))
    return Report(region, f"{ctx.name(region)} 医保目录区域协同报告",
                  f"参保地：{ctx.name(region)} · 运行 {ctx.run_id}", sections, ctx.settings.notice,
                  ctx.parameters,
                  (("全国概览", "national.html"), ("报告索引", "index.html"),
                   ("本报告的 Excel 工作簿", f"{region}.xlsx")))
