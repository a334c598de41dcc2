"""Charts of the cross-region care tables (`catalogbridge.flows`) from small pandas frames the
caller collects (no Spark here). Fonts work as in `charts`: Chinese labels when the font
`find_cjk_font` picks also draws every character of ours (`FLOW_TEXT`), English ones
otherwise; a region name the font cannot draw shows as its code."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import colormaps, font_manager
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from catalogbridge.flows.distance import PER
from catalogbridge.names import INSURED, TREATMENT
from catalogbridge.reporting import charts

log = logging.getLogger(__name__)

MAX_REGIONS, TOP_ALERTS = 40, 15  # regions in matrix and balance, alerts shown
_ZH = {
    "no_data": "无数据", "no_alerts": "无预警", "visits": "就诊人次", "insured": "参保地",
    "treatment": "就医地", "matrix": "跨地区就医流向:参保地 → 就医地(就诊人次,对数色阶)",
    "top": "仅显示{what}最多的{n}个地区(共{total}个)", "both": "流出与流入人次合计",
    "either": "净流入或净流出人次", "balance": "各地区跨地区就医净流入人次(流入 − 流出)",
    "net": "净流入人次", "inflow": "净流入(吸引外地参保患者)", "outflow": "净流出(本地参保患者外出就医)",
    "monthly": "跨地区就医人次月度趋势", "month": "月份", "inter_province": "跨省就医人次",
    "intra_province": "省内异地就医人次", "km": "距离(公里)", "rate": "每十万人口就医人次",
    "distance": "就医人次与距离:每十万参保地人口就医人次", "observed": "实际(地区对)",
    "fitted": "引力模型拟合值", "zeros": "{n}个无就医的地区对未显示(对数坐标)",
    "log_distance_km_coef": "距离衰减系数 {v:.3f}", "deviance_explained": "偏差解释率 {v:.1%}",
    "spearman_rate_distance": "Spearman ρ = {v:.3f}", "stake": "超基线金额(元)",
    "alerts": "跨地区结算激增预警:超基线金额前{n}名", "bar": "{v:,.0f} 元(较基线 +{r:.0f}%)", "sep": " · ",
}
_EN = {
    "no_data": "No data", "no_alerts": "No alerts", "visits": "Visits", "insured": "Insured region",
    "treatment": "Treatment region",
    "matrix": "Cross-region care: insured region -> treatment region (visits, log scale)",
    "top": "Only the {n} regions with the most {what} ({total} in all)", "both": "outflow + inflow visits",
    "either": "net inflow or outflow", "balance": "Net inflow of visits per region (inflow - outflow)",
    "net": "Net inflow visits", "inflow": "Net inflow", "outflow": "Net outflow",
    "monthly": "Cross-region visits per month", "month": "Month", "inter_province": "Inter-province visits",
    "intra_province": "Intra-province visits", "km": "Distance (km)", "rate": "Visits per 100,000 population",
    "distance": "Visits per 100,000 origin population against distance", "observed": "Observed (pairs)",
    "fitted": "Gravity model fit", "zeros": "{n} pairs without visits not shown (log scale)",
    "log_distance_km_coef": "Distance decay {v:.3f}", "deviance_explained": "Deviance explained {v:.1%}",
    "spearman_rate_distance": "Spearman rho = {v:.3f}", "stake": "Money above baseline (yuan)",
    "alerts": "Cross-region billing surges: top {n} by money above baseline",
    "bar": "{v:,.0f} yuan (+{r:.0f}% on baseline)", "sep": " | ",
}
FLOW_TEXT = "".join(_ZH.values())  # every character of the Chinese labels, for the font check
_GROUPED = FuncFormatter(lambda v, _: f"{v:,.0f}")
BLUE, RED, ORANGE = "#4C72B0", "#C44E52", "#DD8452"
FlowChart = tuple[list[pd.DataFrame], tuple[object, ...], Callable[[], Figure]]  # rows, details, draw


@dataclass(frozen=True)
class FlowChartTables:
    """Bounded flow tables the caller collects; `monthly`: flow_panel rows of med_type 'all', by month."""

    destinations: pd.DataFrame
    balance: pd.DataFrame
    monthly: pd.DataFrame
    distance: pd.DataFrame
    gravity: pd.DataFrame
    alerts: pd.DataFrame
    region_names: dict[str, str] = field(default_factory=dict)  # code -> Chinese name


@functools.cache
def flow_font() -> tuple[str | None, frozenset[int]]:
    """(the CJK font, its code points) if it draws all of `FLOW_TEXT`, else (None, {})."""
    font = charts.find_cjk_font()
    have = frozenset(charts.font_characters(font)) if font else frozenset()
    missing = {ch for ch in FLOW_TEXT if not ch.isspace() and ord(ch) not in have}
    if font and missing:
        log.warning("%s lacks %s: flow charts use English labels", font, "".join(sorted(missing)))
    return (font, have) if font and not missing else (None, frozenset())


class _Style:
    """One chart set's labels, font and the region names its font can draw."""

    def __init__(self, font: str | None, have: frozenset[int], names: dict[str, str]) -> None:
        self.text = _ZH if font else _EN
        self.props = font_manager.FontProperties(fname=font) if font else None
        self.names = {c: n for c, n in names.items()
                      if font and n and all(ch.isspace() or ord(ch) in have for ch in n)}

    def regions(self, codes: list[str]) -> list[str]:
        """Names (codes where unknown), with the code added where two codes share one name."""
        named = {c: self.names.get(c, c) for c in codes}
        twice = {n for n in named.values() if list(named.values()).count(n) > 1}
        return [f"{named[c]} {c}" if named[c] in twice else named[c] for c in codes]

    def figure(self, size: tuple[float, float], title: str, x: str, y: str = "",
               grouped: str = "") -> tuple[Figure, Axes]:
        """A titled figure, axes labelled, the `grouped` axis ("x", "y") with thousands separators."""
        fig, ax = plt.subplots(figsize=size, layout="constrained")  # five charts: layout is cheap
        ax.set_title(title, fontproperties=self.props, fontsize=12)
        ax.set_xlabel(self.text[x], fontproperties=self.props)
        ax.set_ylabel(self.text.get(y, ""), fontproperties=self.props)
        if grouped:
            (ax.xaxis if grouped == "x" else ax.yaxis).set_major_formatter(_GROUPED)
        return fig, ax

    def empty(self, fig: Figure, ax: Axes, key: str = "no_data") -> Figure:
        ax.text(0.5, 0.5, self.text[key], ha="center", va="center", fontsize=20, color="#777777",
                transform=ax.transAxes, fontproperties=self.props)
        ax.set_axis_off()
        return fig

    def note(self, fig: Figure, key: str, **values: object) -> None:
        fig.supxlabel(self.text[key].format(**values), fontsize=9, color="#555555", fontproperties=self.props)


def _numbers(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype(float)


def matrix_chart(destinations: pd.DataFrame, s: _Style) -> Figure:
    """Visits per away pair, insured region in rows, treatment region in columns, log colours."""
    pairs = destinations.astype({INSURED: str, TREATMENT: str}).assign(visits=_numbers(destinations.visits))
    pairs = pairs[(pairs[INSURED] != pairs[TREATMENT]) & (pairs["visits"] > 0)]
    total = pairs.groupby(INSURED).visits.sum().add(pairs.groupby(TREATMENT).visits.sum(), fill_value=0)
    chosen = sorted(total.sort_values(ascending=False, kind="stable").index[:MAX_REGIONS])
    n = max(len(chosen), 1)
    fig, ax = s.figure((max(8.0, 3.5 + 0.3 * n), max(6.5, 3.0 + 0.3 * n)), s.text["matrix"], "treatment",
                       "insured")
    if pairs.empty:
        return s.empty(fig, ax)
    grid = pairs.pivot_table(index=INSURED, columns=TREATMENT, values="visits", aggfunc="sum")
    cells = np.ma.masked_invalid(grid.reindex(index=chosen, columns=chosen).to_numpy(dtype=float))
    if not cells.count():  # no pair among the regions shown
        return s.empty(fig, ax)
    low, high = float(cells.min()), float(cells.max())
    image = ax.imshow(cells, cmap=colormaps["YlOrRd"].with_extremes(bad="white"), aspect="auto",
                      norm=LogNorm(low, high if high > low else low * 10), interpolation="none")
    names = s.regions(chosen)  # at most MAX_REGIONS, 0.3 inch each: room for 9-pt labels
    ax.set_xticks(range(n), names, rotation=90, fontproperties=s.props, fontsize=9)
    ax.set_yticks(range(n), names, fontproperties=s.props, fontsize=9)
    fig.colorbar(image, ax=ax, shrink=0.8).set_label(s.text["visits"], fontproperties=s.props)
    if len(total) > MAX_REGIONS:
        s.note(fig, "top", what=s.text["both"], n=MAX_REGIONS, total=len(total))
    return fig


def _bars(ax: Axes, s: _Style, labels: list[str], values: pd.Series, colors: list[str],
          notes: list[str]) -> None:
    """Horizontal bars, the first at the bottom, each with its note at its end."""
    y = list(range(len(labels)))
    ax.barh(y, values, color=colors, height=0.7)
    for yi, value, note in zip(y, values, notes, strict=True):
        ax.annotate(note, (value, yi), textcoords="offset points", va="center", fontsize=8,
                    fontproperties=s.props, xytext=(4 if value >= 0 else -4, 0),
                    ha="left" if value >= 0 else "right")
    ax.set_yticks(y, labels, fontproperties=s.props, fontsize=9)
    ax.margins(x=0.15, y=0.02)


def balance_chart(balance: pd.DataFrame, s: _Style) -> Figure:
    """Net inflow of visits per region, the largest on top; inflow blue, outflow red."""
    rows = balance.assign(net=_numbers(balance["net_inflow_visits"]), code=balance["admdvs"].astype(str)) \
        .dropna(subset=["net"])
    shown = rows.loc[rows["net"].abs().sort_values(ascending=False, kind="stable").index[:MAX_REGIONS]]
    shown = shown.sort_values(["net", "code"], ascending=[True, False])
    fig, ax = s.figure((10.0, max(4.5, 1.8 + 0.3 * len(shown))), s.text["balance"], "net", grouped="x")
    if shown.empty:
        return s.empty(fig, ax)
    net = shown["net"]
    _bars(ax, s, s.regions(shown["code"].tolist()), net, [BLUE if v >= 0 else RED for v in net],
          [f"{v:+,.0f}" for v in net])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.legend([Patch(color=BLUE), Patch(color=RED)], [s.text["inflow"], s.text["outflow"]],
              loc="lower right", prop=s.props)
    if len(rows) > MAX_REGIONS:
        s.note(fig, "top", what=s.text["either"], n=MAX_REGIONS, total=len(rows))
    return fig


def monthly_chart(monthly: pd.DataFrame, s: _Style) -> Figure:
    """Inter- and intra-province visits per month, summed over pairs."""
    rows = monthly.assign(visits=_numbers(monthly["visits"]), period=monthly["period"].astype(str))
    by_level = rows[rows["period"] != "all"].pivot_table(index="period", columns="cross_level",
                                                         values="visits", aggfunc="sum")
    fig, ax = s.figure((10.0, 5.0), s.text["monthly"], "month", "visits", grouped="y")
    levels = [level for level in ("inter_province", "intra_province") if level in by_level]
    if not levels:
        return s.empty(fig, ax)
    months = sorted(by_level.index)
    x = list(range(len(months)))
    for level in levels:
        ax.plot(x, by_level[level].reindex(months).fillna(0), marker="o", markersize=4, label=s.text[level],
                color=BLUE if level == "inter_province" else ORANGE)
    step, slanted = max(1, len(months) // 24), len(months) > 8
    ax.set_xticks(x[::step], months[::step], rotation=45 if slanted else 0,
                  ha="right" if slanted else "center", fontsize=9)
    ax.set_ylim(bottom=0)
    ax.legend(prop=s.props, loc="upper left")
    return fig


def distance_chart(distance: pd.DataFrame, gravity: pd.DataFrame, s: _Style) -> Figure:
    """Visits per 100,000 origin population per pair against distance, the gravity model's
    fitted rates beside them, and the model's decay, fit and rank correlation."""
    km, rate = _numbers(distance["distance_km"]), _numbers(distance["visits_per_100k"])
    population = _numbers(distance["origin_population"]).where(lambda p: p > 0)
    fitted = _numbers(distance["fitted_visits"]) * PER / population
    fig, ax = s.figure((9.0, 6.0), s.text["distance"], "km", "rate", grouped="x")
    if km.notna().sum() == 0:
        return s.empty(fig, ax)
    log_y = bool((rate > 0).any())
    seen = rate > 0 if log_y else rate.notna()
    ax.scatter(km[seen], rate[seen], s=18, color=BLUE, alpha=0.65, label=s.text["observed"])
    if (fitted > 0).any():
        ax.scatter(km[fitted > 0], fitted[fitted > 0], s=16, marker="x", color=ORANGE, label=s.text["fitted"])
    if log_y:
        ax.set_yscale("log")
    ax.legend(prop=s.props, loc="lower left")
    if log_y and (hidden := int((rate == 0).sum())):
        s.note(fig, "zeros", n=hidden)
    fit = {c: float(_numbers(gravity[c]).iloc[0]) if len(gravity) else np.nan for c in gravity.columns}
    if not np.isnan(fit["log_distance_km_coef"]):
        box = "\n".join(s.text[c].format(v=v) for c, v in fit.items() if not np.isnan(v))
        ax.text(0.98, 0.97, box, transform=ax.transAxes, ha="right", va="top", multialignment="left",
                fontsize=10, fontproperties=s.props, bbox={"boxstyle": "round", "facecolor": "white"})
    return fig


def alerts_chart(alerts: pd.DataFrame, s: _Style) -> Figure:
    """The top alerts by money above baseline: institution · region · period, with the rise."""
    rows = alerts.assign(stake=_numbers(alerts["money_at_stake"]), rise=_numbers(alerts["rise_pct"]),
                         rank=_numbers(alerts["alert_rank"])).dropna(subset=["stake"])
    top = rows.sort_values(["stake", "rank"], ascending=[False, True], kind="stable").head(TOP_ALERTS)
    title = s.text["alerts"].format(n=len(top) or TOP_ALERTS)
    fig, ax = s.figure((10.0, max(4.5, 1.8 + 0.35 * len(top))), title, "stake", grouped="x")
    if top.empty:
        return s.empty(fig, ax, "no_alerts")
    top = top.iloc[::-1]  # the largest on top
    labels = [s.text["sep"].join((str(code), region, str(period))) for code, region, period in zip(
        top["fixmedins_code"], s.regions(top[TREATMENT].astype(str).tolist()), top["period"], strict=True)]
    _bars(ax, s, labels, top["stake"], [RED] * len(top),
          [s.text["bar"].format(v=v, r=r) for v, r in zip(top["stake"], top["rise"], strict=True)])
    low, high = min(0.0, float(top["stake"].min())), max(0.0, float(top["stake"].max()))
    span = (high - low) or 1.0  # room for the bar notes; a fall in fees (a visits alert) goes left
    ax.set_xlim(low - 0.4 * span if low < 0 else 0, high + 0.4 * span)
    return fig


# Per chart: how to draw it, and per table it shows the columns it reads; whether it shows names.
CHARTS: dict[str, tuple[Callable[..., Figure], dict[str, tuple[str, ...]], bool]] = {
    "flow_matrix": (matrix_chart, {"destinations": (INSURED, TREATMENT, "visits")}, True),
    "flow_balance": (balance_chart, {"balance": ("admdvs", "net_inflow_visits")}, True),
    "flow_monthly": (monthly_chart, {"monthly": ("period", "cross_level", "visits")}, False),
    "flow_distance": (distance_chart, {
        "distance": ("distance_km", "visits_per_100k", "fitted_visits", "origin_population"),
        "gravity": ("log_distance_km_coef", "deviance_explained", "spearman_rate_distance")}, False),
    "surge_alerts": (alerts_chart, {"alerts": ("alert_rank", "fixmedins_code", TREATMENT, "period",
                                               "rise_pct", "money_at_stake")}, True),
}


def _rows(tables: FlowChartTables, table: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """A table's columns that a chart reads (an empty frame may lack them)."""
    frame = getattr(tables, table)
    if table == "monthly" and "med_type" in frame:
        frame = frame[frame["med_type"].astype(str) == "all"]
    return pd.DataFrame(columns=list(columns)) if frame.empty else frame[list(columns)].reset_index(drop=True)


def flow_charts(tables: FlowChartTables, font: str | None, have: frozenset[int]) -> dict[str, FlowChart]:
    """The five charts by file name: the rows each shows, its other inputs and how to draw it."""
    style = _Style(font, have, tables.region_names)
    names = tuple(sorted(style.names.items()))
    found: dict[str, FlowChart] = {}
    for name, (draw, reads, named) in CHARTS.items():
        rows = [_rows(tables, table, columns) for table, columns in reads.items()]
        details = (name, font, names if named else ())
        found[f"{name}.png"] = (rows, details, functools.partial(draw, *rows, style))
    return found


def write_flow_charts(tables: FlowChartTables, directory: Path) -> charts.ChartCount:
    """The five flow charts into `directory`, each redrawn only when what it shows changed."""
    directory.mkdir(parents=True, exist_ok=True)
    drawn = 0
    for file, (frames, details, draw) in flow_charts(tables, *flow_font()).items():
        path, source = directory / file, charts.chart_source(frames, *details)
        if not charts.is_current(path, source):
            charts.save_chart(draw(), path, source)
            drawn += 1
    return charts.ChartCount(drawn, len(CHARTS) - drawn)
