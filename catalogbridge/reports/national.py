"""The national overview: the pair matrix (heat maps of discrepant items and of added spend),
insured regions ranked by burden, the items most often discrepant (candidates for national
harmonisation), groups side by side, flows and data quality by region, with links to every
regional report. Pure pandas on tables bounded by pairs, regions and `report.top_items`."""

from __future__ import annotations

import html
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import colors, font_manager

from catalogbridge.names import INSURED, TREATMENT
from catalogbridge.reporting.charts import find_cjk_font, missing_glyphs, png_bytes
from catalogbridge.reports.context import Context
from catalogbridge.reports.html import CSS
from catalogbridge.reports.model import Figures, Part, Picture, Report, Section, Table

MAX_LABELLED_REGIONS = 40  # more regions than this: the heat map's axes carry no labels
FLOW_CHARTS = (("flow_matrix", "就医流向矩阵", "行为参保地、列为就医地，颜色为就诊人次（对数刻度）。"),
               ("flow_balance", "净流入", "各地区流入与流出就诊人次之差。"),
               ("flow_monthly", "逐月异地就医", "全国异地就医人次的月度走势。"),
               ("flow_distance", "距离衰减", "每十万人异地就诊人次与距离的关系及引力模型拟合。"),
               ("surge_alerts", "异常增长预警", "按高出基期金额排名的机构。"))


def _short(code: str, ctx: Context) -> str:
    return ctx.name(code).removesuffix(f" {code}") or code


def pair_heatmaps(pairs: pd.DataFrame, ctx: Context) -> bytes | None:
    """Two heat maps, insured region in rows and treatment region in columns: discrepant
    items and scheme-1 added spend (万元). None without pairs."""
    if pairs.empty:
        return None
    codes = sorted(set(pairs[INSURED]) | set(pairs[TREATMENT]))
    font = find_cjk_font()
    labels = [_short(c, ctx) for c in codes]
    if font is None or missing_glyphs("".join(labels) + "参保地就医地差异项目数方案新增医保支出万元", font):
        labels, font = codes, None
    props = font_manager.FontProperties(fname=font) if font else None
    titles = (("items", "差异项目数" if font else "Discrepant items"),
              ("added_spend", "方案1新增医保支出（万元）" if font else "Scheme 1 added spend (10k yuan)"))
    # One panel above the other, each the page's width, so a region's label stays legible;
    # a square-root colour scale, so one hub pair does not wash out the rest of the matrix.
    size = max(5.0, min(0.25 * len(codes) + 2.5, 14.0))
    fig, axes = plt.subplots(2, 1, figsize=(size * 1.25, 2 * size), layout="constrained")
    for ax, (column, name) in zip(axes, titles, strict=True):
        grid = pairs.pivot_table(index=INSURED, columns=TREATMENT, values=column, aggfunc="sum")
        grid = grid.reindex(index=codes, columns=codes).astype(float)
        if column == "added_spend":
            grid = grid / 10_000
        image = ax.imshow(np.ma.masked_invalid(grid.to_numpy()), cmap="YlOrRd", aspect="auto",
                          norm=colors.PowerNorm(gamma=0.5, vmin=0))
        fig.colorbar(image, ax=ax, shrink=0.8)
        ax.set_title(name, fontproperties=props, fontsize=13)
        ax.set_ylabel("参保地" if font else "Insured region", fontproperties=props, fontsize=11)
        ax.set_xlabel("就医地" if font else "Treatment region", fontproperties=props, fontsize=11)
        if len(codes) <= MAX_LABELLED_REGIONS:
            ax.set_xticks(range(len(codes)), labels, rotation=90, fontproperties=props, fontsize=9)
            ax.set_yticks(range(len(codes)), labels, fontproperties=props, fontsize=9)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
    return png_bytes(fig, dpi=80)


def _quality(ctx: Context) -> Section:
    recon = ctx.aggregates.recon.copy()
    if recon.empty:
        return Section("quality", "各地区数据质量", omitted="没有对账结果。")
    recon["quarantined_pct"] = (recon["quarantined_rows"] / recon["rows"].where(recon["rows"] > 0) * 100)
    reasons = (ctx.aggregates.quarantine.groupby("reason", as_index=False)[["rows", "fees"]].sum()
               .sort_values("rows", ascending=False))
    coverage = ctx.aggregates.coverage.copy()
    coverage["mapped_fee_pct"] = coverage["mapped_fees"] / coverage["fees"].where(coverage["fees"] > 0) * 100
    intro = "每一行输入都被使用或带原因隔离；对账逐文件、逐就医地核对。"
    return Section("quality", "各地区数据质量", intro, (
        Table("recon", "各就医地的对账", "读入、清洗后保留和隔离的明细行数及隔离占比。",
              recon.sort_values(TREATMENT)),
        Table("reasons", "隔离原因（全国）", "被隔离明细的首要原因、行数和费用。", reasons),
        Table("coverage", "各参保地的映射覆盖", "本地参保人清洗后的费用中已映射到国家编码的比例。",
              coverage.sort_values(INSURED)[[INSURED, "rows", "fees", "mapped_fee_pct"]])))


def _flows(ctx: Context, gravity: pd.DataFrame) -> Section:
    pictures: list[Part] = [Picture(key, title, note, png) for key, title, note in FLOW_CHARTS
                            if (png := ctx.chart(f"internal/charts/flows/{key}.png")) is not None]
    balance = ctx.aggregates.balance
    if balance.empty and not pictures:
        return Section("flows", "跨区域就医流向", omitted="数据中没有流向（或缺少流向分析所需的列）。")
    tables: list[Part] = [Table("balance", "各地区流入与流出", (
        "本地就医、外出与流入的人次和费用；流入/流出大于1表示该地区吸引外地患者。"),
        balance.sort_values("admdvs")[["admdvs", "home_visits", "outflow_visits", "inflow_visits",
                                       "net_inflow_visits", "net_inflow_fees", "inflow_outflow_ratio",
                                       "outflow_rate"]])]
    if not gravity.empty:
        tables.append(Table("gravity", "距离衰减模型", (
            "泊松回归：就诊人次 ~ 人口与距离；距离系数为负表示流量随距离衰减。"), gravity))
    return Section("flows", "跨区域就医流向", "", (*pictures, *tables))


def national_report(*, pairs: pd.DataFrame, insured: pd.DataFrame, top_items: pd.DataFrame,
                    gravity: pd.DataFrame, reported: list[str], ctx: Context) -> Report:
    """The overview from per-pair and per-region rows (`pairs`: insured, treatment, items,
    item_count, visits, added_spend of scheme 1; `insured`: per insured region)."""
    heat = pair_heatmaps(pairs, ctx)
    figures = Figures((("参保地", f"{insured[INSURED].nunique():,}"), ("地区对", f"{len(pairs):,}"),
                       ("有差异项目的地区对", f"{int((pairs['items'] > 0).sum()):,}"),
                       ("方案1新增医保支出合计", f"{insured['added_spend'].sum():,.2f} 元")))
    matrix: list[Part] = [figures]
    if heat is not None:
        matrix.append(Picture("pair_matrix", "地区对矩阵", (
            "上：差异项目数；下：方案1新增医保支出（万元）；颜色按平方根刻度，"
            "空白格表示该地区对没有跨区域使用。"), heat))
    ranking = insured.sort_values(["added_spend", INSURED], ascending=[False, True])
    groups = ctx.aggregates.groups.copy()
    groups[INSURED] = groups[INSURED].fillna("")
    sections = (
        Section("matrix", "地区对矩阵", "每个参保地—就医地组合的差异项目数和方案1新增支出。", tuple(matrix)),
        Section("ranking", "参保地负担排名", "", (Table("ranking", "参保地按方案1新增医保支出排名", (
            "各参保地可纳入的差异项目数、方案1的项目数、就诊人次、新增医保支出与预测期累计基金新增支出。"),
            ranking),)),
        Section("items", "全国常见差异项目", "", (Table("top_items", "最常见的差异项目（全国协同候选）", (
            f"在最多地区对中属于差异项目的前 {ctx.settings.top_items} 个项目：涉及的地区对和参保地数、"
            "就医地人次与费用合计。"), top_items),)),
        Section("groups", "区域组对比", "", (Table("groups_all", "各区域组共同目录", (
            "各区域组及其成员在共同目录规则下需新增的项目和支出；参保地为空的行为全组合计。"),
            groups.sort_values(["group_name", "rule", INSURED])),)) if not groups.empty else
        Section("groups", "区域组对比", omitted="配置中没有区域组（decision.groups）。"),
        _flows(ctx, gravity), _quality(ctx))
    links = tuple((ctx.name(code), f"{code}.html") for code in reported)
    subtitle = f"运行 {ctx.run_id} · {len(reported):,} 份参保地报告"
    return Report("national", "全国医保目录区域协同概览", subtitle, sections, ctx.settings.notice,
                  ctx.parameters,
                  (("报告索引", "index.html"), *links))


def index_page(regions: Mapping[str, str], run_id: str, workbooks: bool) -> str:
    """The index: the national overview and every regional report (and workbook)."""
    def entry(label: str, stem: str) -> str:
        book = f' · <a href="{stem}.xlsx">Excel</a>' if workbooks else ""
        return f'<li><a href="{stem}.html">{html.escape(label)}</a>{book}</li>'
    items = "".join(entry(name, code) for code, name in regions.items())
    return ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>报告索引</title>'
            f"<style>{CSS}</style></head><body><header><h1>医保目录区域协同报告索引</h1><p>运行 {run_id}</p>"
            f'</header><main><section><h2>全国</h2><ul>{entry("全国概览", "national")}</ul></section>'
            f'<section><h2>参保地报告</h2><ul class="links">{items}</ul></section></main></body></html>')
