"""The flow charts: five PNGs from small frames, redrawn only when their rows change, empty
tables drawn as such, and every character drawn by the font (or English labels without one)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from catalogbridge.names import INSURED as I
from catalogbridge.names import TREATMENT as T
from catalogbridge.reporting.charts import ChartCount, find_cjk_font, missing_glyphs
from catalogbridge.reporting.flow_charts import (
    FLOW_TEXT,
    FlowChartTables,
    flow_charts,
    flow_font,
    write_flow_charts,
)

FILES = ("flow_matrix.png", "flow_balance.png", "flow_monthly.png", "flow_distance.png", "surge_alerts.png")
NAMES = {"330000": "浙江省", "310000": "上海市", "320000": "江苏省", "340000": "安徽省", "110000": "北京市"}


def _tables() -> FlowChartTables:
    destinations = pd.DataFrame({
        I: ["330000", "330000", "330000", "320000", "320000", "340000", "340000", "110000", "990000"],
        T: ["310000", "320000", "110000", "310000", "330000", "310000", "330000", "310000", "310000"],
        "persons": [800, 300, 50, 700, 200, 600, 150, 90, 5],
        "visits": [1200, 400, 60, 900, 250, 1000, 180, 100, 7],
        "fees": [Decimal("1200000.00")] * 9, "visit_share": [0.5] * 9, "fee_share": [0.5] * 9,
        "rank": [1, 2, 3, 1, 2, 1, 2, 1, 1]})
    balance = pd.DataFrame({
        "admdvs": ["310000", "330000", "320000", "340000", "110000", "990000"],
        "home_visits": [9000, 8000, 7000, 5000, 6000, 10], "outflow_visits": [0, 1660, 1150, 1180, 100, 7],
        "inflow_visits": [3207, 430, 400, 0, 60, 0], "net_inflow_visits": [3207, -1230, -750, -1180, -40, -7],
        "net_inflow_fees": [Decimal("1.00")] * 6, "inflow_outflow_ratio": [None, 0.26, 0.35, 0.0, 0.6, 0.0],
        "outflow_rate": [0.0, 0.17, 0.14, 0.19, 0.02, 0.41]})
    months = [f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01", "2025-02"]
    monthly = pd.DataFrame([
        {I: "330000", T: "310000" if level == "inter_province" else "330100", "period": month,
         "med_type": "all", "cross_level": level, "persons": 10, "visits": base + 7 * k,
         "fees": Decimal("9.00")}
        for k, month in enumerate(months)
        for level, base in (("inter_province", 300), ("intra_province", 500))])
    rng = np.random.default_rng(7)
    km = np.linspace(120, 3000, 20).round(1)
    fitted = (5000 * km ** -1.2 * 2e3).round(2)
    visits = np.where(np.arange(20) % 7 == 3, 0, (fitted * rng.uniform(0.5, 1.5, 20)).round())
    distance = pd.DataFrame({I: ["330000"] * 20, T: [f"{n:06d}" for n in range(20)], "distance_km": km,
                             "visits": visits.astype("int64"), "origin_population": [65_000_000] * 20,
                             "visits_per_100k": (visits * 1e5 / 65e6).round(4), "fitted_visits": fitted})
    gravity = pd.DataFrame([{"model": "poisson_gravity", "log_distance_km_coef": -1.2345,
                             "deviance_explained": 0.6789, "pearson_rate_distance": -0.5,
                             "spearman_rate_distance": -0.8123}])
    alerts = pd.DataFrame({
        "alert_rank": list(range(1, 19)), "fixmedins_code": [f"H33010{n:05d}" for n in range(18)],
        T: ["330000", "310000", "320000"] * 6, "period": ["2024-03", "2024-04", "2024-05"] * 6,
        "baseline_period": ["2024-02", "2024-03", "2024-04"] * 6,
        "fees": [Decimal(f"{(30 - n) * 10000}.00") for n in range(18)],
        "baseline_fees": [Decimal("50000.00")] * 18,
        "rise_pct": [float(100 + 20 * (18 - n)) for n in range(18)],
        "money_at_stake": [Decimal(f"{(30 - n) * 10000 - 50000}.00") for n in range(18)]})
    return FlowChartTables(destinations, balance, monthly, distance, gravity, alerts, NAMES)


EMPTY = FlowChartTables(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                        pd.DataFrame())


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _figures(tables: FlowChartTables, font: str | None,
             have: frozenset[int] = frozenset()) -> dict[str, Figure]:
    return {file: draw() for file, (_, _, draw) in flow_charts(tables, font, have).items()}


def _assert_pngs(directory: Path) -> None:
    for file in FILES:
        image = matplotlib.image.imread(directory / file)
        assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 600, (file, image.shape)


def test_five_charts_redrawn_only_when_their_rows_change(tmp_path: Path) -> None:
    tables = _tables()
    assert write_flow_charts(tables, tmp_path) == ChartCount(drawn=5, unchanged=0)
    _assert_pngs(tmp_path)
    times = {f: (tmp_path / f).stat().st_mtime_ns for f in FILES}
    assert write_flow_charts(tables, tmp_path) == ChartCount(drawn=0, unchanged=5)
    stakes = [Decimal("1.00"), *tables.alerts["money_at_stake"][1:]]  # the top alert drops to the bottom
    fewer = tables.alerts.assign(money_at_stake=pd.Series(stakes, dtype=object))
    assert write_flow_charts(dataclasses.replace(tables, alerts=fewer), tmp_path) == ChartCount(1, 4)
    changed = {f for f in FILES if (tmp_path / f).stat().st_mtime_ns != times[f]}
    assert changed == {"surge_alerts.png"}
    other_gravity = tables.gravity.assign(deviance_explained=0.5)
    assert write_flow_charts(dataclasses.replace(tables, alerts=fewer, gravity=other_gravity),
                             tmp_path) == ChartCount(1, 4)


def test_empty_tables_draw_no_data_charts(tmp_path: Path) -> None:
    assert write_flow_charts(EMPTY, tmp_path) == ChartCount(drawn=5, unchanged=0)
    _assert_pngs(tmp_path)
    full = _tables()
    with_columns = FlowChartTables(full.destinations[:0], full.balance[:0], full.monthly[:0],
                                   full.distance[:0], full.gravity[:0], full.alerts[:0])
    figures = _figures(with_columns, None)
    assert all("No data" in _texts(fig) for file, fig in figures.items() if file != "surge_alerts.png")
    assert "No alerts" in _texts(figures["surge_alerts.png"])
    font, have = flow_font()
    if font is not None:
        assert "无预警" in _texts(_figures(EMPTY, font, have)["surge_alerts.png"])


def test_cjk_font_draws_every_label() -> None:
    font = find_cjk_font()
    if font is None:
        pytest.skip("no CJK font installed here; `make setup` installs fonts-noto-cjk")
    assert missing_glyphs(FLOW_TEXT, font) == set()
    assert flow_font()[0] == font
    for tables in (_tables(), EMPTY):
        for file, fig in _figures(tables, *flow_font()).items():
            texts = "".join(_texts(fig))
            assert missing_glyphs(texts, font) == set(), file
    assert {"浙江省", "上海市"} <= set(_texts(_figures(_tables(), *flow_font())["flow_matrix.png"]))


def test_without_a_cjk_font_labels_are_english_and_regions_codes() -> None:
    for file, fig in _figures(_tables(), None).items():
        assert all(text.isascii() for text in _texts(fig)), file
    alerts = _texts(_figures(_tables(), None)["surge_alerts.png"])
    assert "H3301000000 | 330000 | 2024-03" in alerts


def test_a_name_the_font_cannot_draw_shows_its_code() -> None:
    font = find_cjk_font() or "any.ttf"  # only the code points matter here
    have = frozenset(ord(ch) for ch in FLOW_TEXT + "浙江省")
    matrix = _texts(_figures(_tables(), font, have)["flow_matrix.png"])
    assert "浙江省" in matrix and "310000" in matrix and "上海市" not in matrix


def test_matrix_shows_away_pairs_in_log_colours_and_at_most_40_regions() -> None:
    fig = _figures(_tables(), None)["flow_matrix.png"]
    image = next(iter(fig.findobj(AxesImage)))
    cells = image.get_array()
    assert cells is not None and cells.shape == (6, 6) and bool(np.ma.getmaskarray(cells).diagonal().all())
    assert image.norm.__class__.__name__ == "LogNorm" and cells.max() == 1200
    codes = [f"{n:02d}0000" for n in range(11, 56)]
    ring = pd.DataFrame({I: codes, T: codes[1:] + codes[:1], "visits": range(1, 46)})
    big = _figures(dataclasses.replace(_tables(), destinations=ring), None)["flow_matrix.png"]
    big_cells = next(iter(big.findobj(AxesImage))).get_array()
    assert big_cells is not None and big_cells.shape == (40, 40)
    assert any("Only the 40 regions" in text and "45 in all" in text for text in _texts(big))


def test_alerts_and_distance_details() -> None:
    figures = _figures(_tables(), None)
    alerts = figures["surge_alerts.png"].axes[0]
    assert len(alerts.patches) == 15
    assert alerts.get_yticklabels()[-1].get_text().startswith("H3301000000")  # the most money on top
    box = _texts(figures["flow_distance.png"])
    assert "Distance decay -1.234" in "".join(box) and "Spearman rho = -0.812" in "".join(box)
    assert any("3 pairs without visits" in text for text in box)
    no_fit = dataclasses.replace(_tables(), gravity=_tables().gravity.assign(log_distance_km_coef=np.nan))
    assert not any("Distance decay" in t for t in _texts(_figures(no_fit, None)["flow_distance.png"]))


def test_a_fall_in_fees_and_a_null_stake_do_not_break_the_alerts_chart() -> None:
    alerts = _tables().alerts.head(3).assign(
        money_at_stake=pd.Series([Decimal("80000.00"), Decimal("-20000.00"), None], dtype=object))
    ax = _figures(dataclasses.replace(_tables(), alerts=alerts), None)["surge_alerts.png"].axes[0]
    assert [p.get_width() for p in ax.patches if isinstance(p, Rectangle)] == [-20000.0, 80000.0]
    assert ax.get_xlim()[0] < -20000 < 80000 < ax.get_xlim()[1]
