"""The decision engine's charts, one set per insured region: what drives the scheme-1 budget
(tornado), how much use each budget buys (frontier against the threshold schemes) and the
yearly fund impact with its Monte Carlo interval (fan).

Fonts work as in `charts`: Chinese labels with a CJK font that has the glyphs, English ones
without; `*_texts` yield every string a Chinese chart draws, for glyph checks.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import font_manager
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from catalogbridge.decisions.impact import INSURED_UNIT
from catalogbridge.labels import region_label
from catalogbridge.names import INSURED
from catalogbridge.reporting.charts import (
    ChartCount,
    chart_source,
    find_cjk_font,
    is_current,
    render_in_batches,
    save_chart,
)
from catalogbridge.reporting.streams import region_frames

WAN = 10_000  # charts show money in 万元
_ZH = {
    "fund_share": "基金支付比例", "induced_demand": "诱导需求(新增利用)",
    "price_change": "价格变化", "growth": "年增长率",
    "parameter": "{name}\n({low}…{high})", "minus": "−", "points": "个百分点",
    "tornado_title": "{region}:方案1新增医保支出的敏感性(龙卷风图)",
    "tornado_axis": "方案1新增医保支出(万元,预测期合计)",
    "low": "参数取低值", "high": "参数取高值", "base": "基准 {value:,.2f} 万元",
    "no_effect": "不影响结果",
    "frontier_title": "{region}:预算约束下的最优纳入(前沿)与阈值方案",
    "spend": "新增医保支出(万元)", "visits": "累计就诊人次", "frontier": "预算最优前沿",
    "schemes": "阈值方案", "scheme": "方案{n} ≥{t}人次", "plateau": "效率平台期",
    "fan_title": "{region}:方案1逐年预算影响(95%区间)", "year": "第{y}年",
    "impact": "当年新增医保支出(万元)", "line": "基准情形", "median": "蒙特卡洛中位数",
    "band": "95%区间(蒙特卡洛)", "no_draws": "无蒙特卡洛抽样,仅基准情形",
}
_EN = {
    "fund_share": "Fund share", "induced_demand": "Induced demand",
    "price_change": "Price change", "growth": "Annual growth",
    "parameter": "{name}\n({low}...{high})", "minus": "-", "points": " pts",
    "tornado_title": "{region}: sensitivity of scheme 1 added fund spend (tornado)",
    "tornado_axis": "Scheme 1 added fund spend over the horizon (10k yuan)",
    "low": "Parameter low", "high": "Parameter high", "base": "Base {value:,.2f} (10k yuan)",
    "no_effect": "no effect",
    "frontier_title": "{region}: budget-optimal inclusion (frontier) vs threshold schemes",
    "spend": "Added fund spend (10k yuan)", "visits": "Visits", "frontier": "Optimal frontier",
    "schemes": "Threshold schemes", "scheme": "Scheme {n} >={t} visits", "plateau": "Plateau",
    "fan_title": "{region}: scheme 1 budget impact by year (95% interval)", "year": "Year {y}",
    "impact": "Added fund spend that year (10k yuan)", "line": "Base case",
    "median": "Monte Carlo median", "band": "95% interval (Monte Carlo)",
    "no_draws": "No Monte Carlo draws: base case only",
}


def _labels(chinese: bool, insured: str) -> dict[str, str]:
    text = _ZH if chinese else _EN
    region = region_label(insured) if chinese else insured
    return {**text, **{k: text[k].format(region=region) for k in text if k.endswith("_title")}}


def _props(font_path: str | None) -> font_manager.FontProperties | None:
    return font_manager.FontProperties(fname=font_path) if font_path else None


def _wan(values: pd.Series) -> pd.Series:
    """Yuan (decimal, double or null) as doubles in 万元; null becomes NaN."""
    return pd.to_numeric(values, errors="coerce").astype(float) / WAN


def _grouped(axis: Axis, money: bool = True) -> None:
    """Thousands separators; money keeps up to two decimals, so a small city's 万元 still reads."""
    if money:
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.2f}".rstrip("0").rstrip(".")))
    else:
        axis.set_major_locator(MaxNLocator(integer=True))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def _offset(value: float, text: dict[str, str], unit: str) -> str:
    """An offset from the base value, signed: -0.2 -> −20% (a change), or −20 percentage
    points (the fund share, itself a share)."""
    return f"{value * 100:+g}{unit}".replace("-", text["minus"])


def _parameter_labels(rows: pd.DataFrame, text: dict[str, str]) -> list[str]:
    labels = []
    for p, lo, hi in zip(rows["parameter"], rows["low_offset"], rows["high_offset"], strict=True):
        unit = text["points"] if p == "fund_share" else "%"
        labels.append(text["parameter"].format(name=text.get(p, p), low=_offset(lo, text, unit),
                                               high=_offset(hi, text, unit)))
    return labels


def _ranked(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.sort_values("swing_rank").reset_index(drop=True)


def tornado_chart(rows: pd.DataFrame, insured: str, font_path: str | None) -> Figure:
    """One region's scheme-1 swings per parameter, the widest on top, around the base impact."""
    text, props, rows = _labels(font_path is not None, insured), _props(font_path), _ranked(rows)
    base = float(_wan(rows["impact_base"]).iloc[0])
    fig, ax = plt.subplots(figsize=(9, 5))
    y = list(range(len(rows), 0, -1))  # rank 1 highest
    ends_of = {column: _wan(rows[column]) for column in ("impact_low", "impact_high")}
    for column, color, key in (("impact_low", "#4C72B0", "low"), ("impact_high", "#DD8452", "high")):
        ends = ends_of[column]
        ax.barh(y, ends - base, left=base, height=0.6, color=color, label=text[key])
        for yi, end in zip(y, ends, strict=True):
            if end != base:
                ax.annotate(f"{end:,.2f}", (end, yi), textcoords="offset points", va="center",
                            xytext=(4 if end > base else -4, 0), ha="left" if end > base else "right",
                            fontsize=8)
    for yi, low, high in zip(y, ends_of["impact_low"], ends_of["impact_high"], strict=True):
        if low == base == high:  # e.g. growth over a one-year horizon: say so, not a blank row
            ax.annotate(text["no_effect"], (base, yi), textcoords="offset points", xytext=(6, 0),
                        va="center", fontsize=8, fontproperties=props, color="#555555")
    ax.axvline(base, color="black", linewidth=1, label=text["base"].format(value=base))
    ax.set_yticks(y, _parameter_labels(rows, text), fontproperties=props, fontsize=9)
    ax.set_xlabel(text["tornado_axis"], fontproperties=props)
    _grouped(ax.xaxis)
    ax.margins(x=0.15)  # room for the end labels
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, frameon=False, prop=props)
    ax.set_title(text["tornado_title"], fontproperties=props, fontsize=11)
    fig.subplots_adjust(left=0.22, right=0.97, top=0.91, bottom=0.22)  # fixed, as in charts
    return fig


def tornado_texts(rows: pd.DataFrame, insured: str) -> Iterator[str]:
    text, rows = _labels(True, insured), _ranked(rows)
    yield from (text["tornado_title"], text["tornado_axis"], text["low"], text["high"],
                text["no_effect"])
    yield text["base"].format(value=float(_wan(rows["impact_base"]).iloc[0]))
    yield from _parameter_labels(rows, text)


def scheme_points(schemes: pd.DataFrame, text: dict[str, str]) -> list[tuple[str, float, float]]:
    """(label, spend in 万元, visits) per point: schemes on the same point (high thresholds
    often add nothing) share one label, `方案4–6 ≥200–500人次`, instead of printing over
    each other."""
    schemes = schemes.sort_values("scheme")
    points = list(zip(_wan(schemes["added_spend"]).round(6), schemes["visits"].astype(float),
                      schemes["scheme"].astype(int), schemes["threshold"].astype(int),
                      strict=True))
    labelled = []
    for (x, v), same in itertools.groupby(points, key=lambda p: (p[0], p[1])):
        group = list(same)
        (first, low), (last, high) = group[0][2:], group[-1][2:]
        label = text["scheme"].format(n=first, t=low) if first == last else \
            text["scheme"].format(n=f"{first}–{last}", t=f"{low}–{high}")
        labelled.append((label, float(x), float(v)))
    return labelled


def frontier_chart(frontier: pd.DataFrame, schemes: pd.DataFrame, insured: str,
                   font_path: str | None) -> Figure:
    """The most visits each budget buys, against what the threshold schemes buy for theirs."""
    text, props = _labels(font_path is not None, insured), _props(font_path)
    frontier = frontier.sort_values("cap_index")
    fig, ax = plt.subplots(figsize=(9, 5.5))
    spend = pd.concat([pd.Series([0.0]), _wan(frontier["spend"])], ignore_index=True)
    visits = pd.concat([pd.Series([0.0]), frontier["visits"].astype(float)], ignore_index=True)
    ax.plot(spend, visits, color="#4C72B0", marker="o", markersize=4, label=text["frontier"])
    scheme_spend, scheme_visits = _wan(schemes["added_spend"]), schemes["visits"].astype(float)
    ax.scatter(scheme_spend, scheme_visits, color="#C44E52", marker="D", zorder=3, label=text["schemes"])
    for label, x, v in scheme_points(schemes, text):
        # To the right of the point: schemes lie below the frontier and apart in spend.
        # A point on the axis (a scheme adding nothing) gets its label above the axis line.
        ax.annotate(label, (x, v), textcoords="offset points", xytext=(7, 3 if v == 0 else 0),
                    va="bottom" if v == 0 else "center", fontsize=8, fontproperties=props,
                    color="#C44E52")
    plateau = frontier[frontier["plateau"].eq(True)]  # null is no plateau
    if not plateau.empty:
        point = (float(_wan(plateau["spend"]).iloc[0]), float(plateau["visits"].iloc[0]))
        # Below and to the right: the frontier rises left of the plateau and is flat after it.
        ax.annotate(text["plateau"], point, textcoords="offset points", xytext=(30, -45), ha="left",
                    fontproperties=props, fontsize=10, color="#55A868",
                    arrowprops={"arrowstyle": "->", "color": "#55A868"})
        ax.plot(*point, marker="o", markersize=10, markerfacecolor="none", color="#55A868")
    ax.set_xlabel(text["spend"], fontproperties=props)
    ax.set_ylabel(text["visits"], fontproperties=props)
    _grouped(ax.xaxis)
    _grouped(ax.yaxis, money=False)
    # Room on the right and on top for the scheme and plateau labels.
    ax.set_xlim(left=0, right=pd.concat([spend, scheme_spend]).max() * 1.18 or 1)
    ax.set_ylim(bottom=0, top=pd.concat([visits, scheme_visits]).max() * 1.12 or 1)
    ax.legend(loc="lower right", frameon=False, prop=props)
    ax.set_title(text["frontier_title"], fontproperties=props, fontsize=11)
    fig.subplots_adjust(left=0.12, right=0.97, top=0.92, bottom=0.11)
    return fig


def frontier_texts(frontier: pd.DataFrame, schemes: pd.DataFrame, insured: str) -> Iterator[str]:
    text = _labels(True, insured)
    yield from (text[k] for k in ("frontier_title", "spend", "visits", "frontier", "schemes"))
    yield from (label for label, _, _ in scheme_points(schemes, text))
    if frontier["plateau"].eq(True).any():
        yield text["plateau"]


def _has_draws(impact: pd.DataFrame) -> bool:
    return bool(_wan(impact["psa_low"]).notna().all() and _wan(impact["psa_high"]).notna().all())


def fan_chart(impact: pd.DataFrame, insured: str, font_path: str | None) -> Figure:
    """Scheme 1's fund impact per year with the 95 % Monte Carlo band, when there are draws."""
    text, props = _labels(font_path is not None, insured), _props(font_path)
    impact = impact.sort_values("year")
    years, base = impact["year"].astype(int).tolist(), _wan(impact["fund_impact"])
    fig, ax = plt.subplots(figsize=(9, 5))
    if _has_draws(impact) and len(years) == 1:  # one year: the interval as a whisker
        low, high = _wan(impact["psa_low"]).to_numpy(), _wan(impact["psa_high"]).to_numpy()
        median = _wan(impact["psa_median"]).to_numpy()
        ax.errorbar(years, median, yerr=[median - low, high - median], color="#4C72B0",
                    alpha=0.6, capsize=12, linewidth=6, label=text["band"])
    elif _has_draws(impact):
        ax.fill_between(years, _wan(impact["psa_low"]), _wan(impact["psa_high"]), color="#4C72B0",
                        alpha=0.2, linewidth=0, label=text["band"])
        ax.plot(years, _wan(impact["psa_median"]), color="#4C72B0", linestyle="--",
                label=text["median"])
    ax.plot(years, base, color="#DD8452", marker="o", label=text["line"])
    for year, value in zip(years, base, strict=True):
        ax.annotate(f"{value:,.2f}", (year, value), textcoords="offset points", xytext=(0, 8),
                    ha="center", fontsize=8)
    if not _has_draws(impact):
        ax.plot([], [], " ", label=text["no_draws"])  # a legend line that says why no band
    ax.set_xticks(years, [text["year"].format(y=y) for y in years], fontproperties=props)
    ax.set_ylabel(text["impact"], fontproperties=props)
    _grouped(ax.yaxis)
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]), top=ax.get_ylim()[1] * 1.08)
    ax.margins(x=0.08)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3, frameon=False, prop=props)
    ax.set_title(text["fan_title"], fontproperties=props, fontsize=11)
    fig.subplots_adjust(left=0.11, right=0.97, top=0.91, bottom=0.18)
    return fig


def fan_texts(impact: pd.DataFrame, insured: str) -> Iterator[str]:
    text = _labels(True, insured)
    yield from (text["fan_title"], text["impact"], text["line"])
    yield from (text["band"], text["median"]) if _has_draws(impact) else (text["no_draws"],)
    yield from (text["year"].format(y=int(y)) for y in sorted(impact["year"]))


# The four inputs of one region's charts, the rows each needs, sorted within the region.
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sensitivity": (("parameter", "low_offset", "high_offset", "impact_base", "impact_low",
                     "impact_high", "swing_rank"), ("swing_rank",)),
    "impact": (("year", "fund_impact", "psa_median", "psa_low", "psa_high"), ("year",)),
    "frontier": (("cap_index", "visits", "spend", "plateau"), ("cap_index",)),
    "schemes": (("scheme", "threshold", "visits", "added_spend"), ("scheme",)),
}
RegionJob = tuple[str, dict[str, pd.DataFrame], str | None, str]  # insured, tables, font, dir


def render_region(job: RegionJob) -> ChartCount:
    """Draw one region's charts that have rows and are not current, and write them as PNG.
    A top-level function, so pool workers can run it."""
    insured, t, font, charts_dir = job
    charts: dict[str, tuple[list[pd.DataFrame], Callable[[], Figure]]] = {
        "tornado": ([t["sensitivity"]], lambda: tornado_chart(t["sensitivity"], insured, font)),
        "frontier": ([t["frontier"], t["schemes"]],
                     lambda: frontier_chart(t["frontier"], t["schemes"], insured, font)),
        "budget": ([t["impact"]], lambda: fan_chart(t["impact"], insured, font))}
    drawn = unchanged = 0
    for kind, (frames, draw) in charts.items():
        if frames[0].empty:
            continue
        path, source = Path(charts_dir) / f"{kind}_{insured}.png", chart_source(frames, insured, font)
        if is_current(path, source):
            unchanged += 1
        else:
            save_chart(draw(), path, source)
            drawn += 1
    return ChartCount(drawn, unchanged)


def region_jobs(tables: dict[str, DataFrame], charts_dir: Path, font: str | None) -> Iterator[RegionJob]:
    """One job per insured region with its rows of the four tables (parameters, years, caps,
    schemes): the driver holds one region at a time."""
    for insured, frames in region_frames(tables, TABLES):
        yield insured, frames, font, str(charts_dir)


class DecisionCharts(NamedTuple):
    """The tables the decision charts are drawn from (the report stage's chart output)."""

    sensitivity: DataFrame
    impact: DataFrame
    frontier: DataFrame
    schemes: DataFrame


def write_decision_charts(tables: DecisionCharts, charts_dir: Path, workers: int) -> ChartCount:
    """Tornado, frontier and fan chart of every insured region (scheme 1 for tornado and fan)."""
    charts_dir.mkdir(parents=True, exist_ok=True)
    known = F.col(INSURED).isNotNull()
    insured = (F.col("unit") == INSURED_UNIT) & known
    chosen = {"sensitivity": tables.sensitivity.where(insured & (F.col("scheme") == 1)),
              "impact": tables.impact.where(insured & (F.col("scheme") == 1)),
              "frontier": tables.frontier.where(insured), "schemes": tables.schemes.where(known)}
    return render_in_batches(region_jobs(chosen, charts_dir, find_cjk_font()), render_region,
                             workers)
