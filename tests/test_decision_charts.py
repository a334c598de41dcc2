"""The decision charts: ranked tornado bars, the plateau mark, a band only with draws, glyphs
every chart needs, and one set of PNGs per insured region from the pipeline's tables."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from pyspark.sql import DataFrame, SparkSession

from catalogbridge.reporting.charts import (
    ChartCount,
    find_cjk_font,
    missing_glyphs,
    render_in_batches,
)
from catalogbridge.reporting.decision_charts import (
    DecisionCharts,
    fan_chart,
    fan_texts,
    frontier_chart,
    frontier_texts,
    render_region,
    scheme_points,
    tornado_chart,
    tornado_texts,
    write_decision_charts,
)

SENSITIVITY = pd.DataFrame({
    "parameter": ["fund_share", "induced_demand", "price_change", "growth"],
    "low_offset": [-0.2, 0.0, -0.2, -0.05], "high_offset": [0.0, 0.2, 0.1, 0.05],
    "impact_base": [Decimal("1000000.00")] * 4,
    "impact_low": [Decimal(x) for x in ("800000.00", "1000000.00", "800000.00", "905000.00")],
    "impact_high": [Decimal(x) for x in ("1000000.00", "1150000.00", "1100000.00", "1104000.00")],
    "swing": [Decimal(x) for x in ("200000.00", "150000.00", "300000.00", "199000.00")],
    "swing_rank": [2, 4, 1, 3],
})
FRONTIER = pd.DataFrame({"cap_index": [1, 2, 3, 4], "cap": [2.5e5, 5e5, 7.5e5, 1e6],
                         "visits": [400, 700, 850, 900],
                         "spend": [Decimal(x) for x in ("240000.00", "490000.00", "700000.00", "990000.00")],
                         "plateau": [False, False, True, False]})
SCHEMES = pd.DataFrame({"scheme": [1, 2, 3], "threshold": [0, 50, 100], "visits": [900, 600, 300],
                        "added_spend": [Decimal(x) for x in ("1000000.00", "600000.00", "300000.00")]})
IMPACT = pd.DataFrame({"year": [1, 2, 3], "fund_impact": [Decimal(x) for x in ("5e5", "9e5", "1e6")],
                       "psa_median": [4.9e5, 8.9e5, 9.9e5], "psa_low": [4e5, 7e5, 8e5],
                       "psa_high": [6e5, 1.1e6, 1.2e6]})
NO_DRAWS = IMPACT.assign(psa_median=None, psa_low=np.nan, psa_high=np.nan)


def _charts(font: str | None) -> list[tuple[Figure, Iterable[str]]]:
    return [(tornado_chart(SENSITIVITY, "330000", font), tornado_texts(SENSITIVITY, "330000")),
            (frontier_chart(FRONTIER, SCHEMES, "330100", font),
             frontier_texts(FRONTIER, SCHEMES, "330100")),
            (fan_chart(IMPACT, "330000", font), fan_texts(IMPACT, "330000")),
            (fan_chart(NO_DRAWS, "330000", font), fan_texts(NO_DRAWS, "330000"))]


def _drawn_texts(fig: Figure) -> list[str]:
    fig.canvas.draw()  # tick labels get their text when drawn
    return [t.get_text() for t in fig.findobj(Text) if isinstance(t, Text) and t.get_text()]


def test_without_cjk_font_every_label_is_english() -> None:
    for fig, _ in _charts(None):
        texts = _drawn_texts(fig)
        assert all(t.replace("\N{MINUS SIGN}", "-").isascii() for t in texts), texts


def test_cjk_font_draws_every_label_the_texts_name() -> None:
    font = find_cjk_font()
    if font is None:
        pytest.skip("no CJK font installed here; `make setup` installs fonts-noto-cjk")
    for fig, texts in _charts(font):
        named = list(texts)
        assert missing_glyphs("".join(named), font) == set()
        chinese = {t for t in _drawn_texts(fig) if not t.replace("\N{MINUS SIGN}", "-").isascii()}
        assert chinese <= set(named), chinese - set(named)


def test_tornado_puts_the_widest_swing_on_top() -> None:
    fig = tornado_chart(SENSITIVITY.sample(frac=1, random_state=1), "330000", None)
    spans: dict[float, list[float]] = {}
    for bar in fig.axes[0].patches:
        assert isinstance(bar, Rectangle)
        spans.setdefault(bar.get_y(), []).append(abs(bar.get_width()))
    top_down = [sum(spans[y]) for y in sorted(spans, reverse=True)]
    assert top_down == sorted(top_down, reverse=True)
    assert top_down[0] == pytest.approx(30.0)  # price_change, 300,000 yuan in 万元


def test_a_parameter_without_effect_is_said_so() -> None:
    """Growth over a one-year horizon moves nothing: its row says so instead of staying
    blank; rows that move have no such note."""
    one_year = SENSITIVITY.assign(
        impact_low=SENSITIVITY["impact_low"].where(SENSITIVITY["parameter"] != "growth",
                                                   Decimal("1000000.00")),
        impact_high=SENSITIVITY["impact_high"].where(SENSITIVITY["parameter"] != "growth",
                                                     Decimal("1000000.00")),
        swing=SENSITIVITY["swing"].where(SENSITIVITY["parameter"] != "growth", Decimal("0.00")),
        swing_rank=[2, 3, 1, 4])
    notes = [t for t in tornado_chart(one_year, "330000", None).axes[0].texts
             if t.get_text() == "no effect"]
    assert len(notes) == 1
    assert notes[0].xy[1] == 1  # rank 4 of 4 (growth's swing is now 0): the lowest row
    assert not [t for t in tornado_chart(SENSITIVITY, "330000", None).axes[0].texts
                if t.get_text() == "no effect"]


def _has_plateau_mark(fig: Figure) -> bool:
    return any(t.get_text() == "Plateau" for t in fig.axes[0].texts)


def test_plateau_is_marked_only_when_the_frontier_has_one() -> None:
    assert _has_plateau_mark(frontier_chart(FRONTIER, SCHEMES, "330000", None))
    flat = FRONTIER.assign(plateau=False)
    assert not _has_plateau_mark(frontier_chart(flat, SCHEMES, "330000", None))


def test_fan_chart_has_a_band_only_with_draws() -> None:
    def bands(fig: Figure) -> int:
        return sum(isinstance(c, PolyCollection) for c in fig.axes[0].collections)

    assert bands(fan_chart(IMPACT, "330000", None)) == 1
    without = fan_chart(NO_DRAWS, "330000", None)
    assert bands(without) == 0
    legend = without.axes[0].get_legend()
    assert legend is not None
    assert "No Monte Carlo draws: base case only" in [t.get_text() for t in legend.get_texts()]


def test_pool_renders_every_region(tmp_path: Path) -> None:
    tables = {"sensitivity": SENSITIVITY, "impact": IMPACT, "frontier": FRONTIER, "schemes": SCHEMES}
    jobs = [(f"3301{i:02d}", tables, None, str(tmp_path)) for i in range(8)]
    assert render_in_batches(jobs, render_region, workers=2) == ChartCount(drawn=24, unchanged=0)
    assert len(list(tmp_path.glob("*.png"))) == 24
    assert render_in_batches(jobs, render_region, workers=2) == ChartCount(drawn=0, unchanged=24)


KEY = "unit string, insured_admdvs string, treatment_admdvs string, group_name string, " \
      "rule string, scheme long"
SCHEMAS = {
    "sensitivity": KEY + ", parameter string, low_offset double, high_offset double, "
                         "impact_base decimal(22,2), impact_low decimal(22,2), "
                         "impact_high decimal(22,2), swing decimal(22,2), swing_rank int",
    "impact": KEY + ", year int, fund_impact decimal(22,2), psa_mean double, psa_median double, "
                    "psa_low double, psa_high double",
    "frontier": KEY + ", cap_index long, cap double, item_count long, visits long, "
                      "spend decimal(22,2), visits_pct double, spend_pct double, plateau boolean",
    "schemes": "insured_admdvs string, scheme long, threshold long, item_count long, visits long, "
               "visits_retention_pct double, added_spend decimal(22,2), spend_decline_pct double",
}


def _unit_rows(frame: pd.DataFrame, unit: str, insured: str, scheme: int | None,
               name: str) -> list[tuple[object, ...]]:
    """`frame`'s rows under one unit key, with the columns the charts ignore as nulls."""
    columns = [c.split()[0] for c in SCHEMAS[name].split(", ")][6:]
    return [(unit, insured, "310000" if unit == "pair" else None, None, None, scheme,
             *[row.get(c) for c in columns]) for row in frame.astype(object).to_dict("records")]


def test_write_decision_charts_draws_one_set_per_insured_region(spark: SparkSession,
                                                                tmp_path: Path) -> None:
    def table(name: str, frame: pd.DataFrame, scheme: int | None, regions: Iterable[str]) -> DataFrame:
        rows = [r for insured in regions for r in _unit_rows(frame, "insured", insured, scheme, name)]
        rows += _unit_rows(frame, "pair", "440000", scheme, name)  # not an insured unit: no chart
        if scheme is not None:  # another scheme of an insured region: not charted
            rows += _unit_rows(frame, "insured", "330000", 2, name)
        return spark.createDataFrame(rows, SCHEMAS[name])

    schemes = spark.createDataFrame(
        [("330000", r["scheme"], r["threshold"], 3, r["visits"], 1.0, r["added_spend"], 0.0)
         for r in SCHEMES.astype(object).to_dict("records")], SCHEMAS["schemes"])
    written = write_decision_charts(DecisionCharts(
        table("sensitivity", SENSITIVITY, 1, ["330000", "110000"]),
        table("impact", NO_DRAWS, 1, ["330000", "110000"]),
        table("frontier", FRONTIER.assign(item_count=3, visits_pct=1.0, spend_pct=1.0), None,
              ["330000"]),  # 110000 has no frontier: its chart is skipped
        schemes), tmp_path / "charts", workers=1)
    names = sorted(p.name for p in (tmp_path / "charts").glob("*.png"))
    assert names == ["budget_110000.png", "budget_330000.png", "frontier_330000.png",
                     "tornado_110000.png", "tornado_330000.png"]
    assert written.total == len(names)


def test_schemes_on_one_point_share_a_label() -> None:
    """High thresholds that add nothing all sit at the origin: one label, not four over
    each other."""
    schemes = pd.DataFrame({"scheme": [3, 1, 2, 4], "threshold": [200, 0, 100, 500],
                            "visits": [0, 900, 0, 0],
                            "added_spend": [Decimal("0.00"), Decimal("50000.00"),
                                            Decimal("0.00"), Decimal("0.00")]})
    assert scheme_points(schemes, {"scheme": "方案{n} ≥{t}人次"}) == [
        ("方案1 ≥0人次", 5.0, 900.0), ("方案2–4 ≥100–500人次", 0.0, 0.0)]
