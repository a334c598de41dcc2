"""The fund-impact model on hand-computed cells (no Spark): one item-use cell of 10 visits
and 100 yuan unless a test says otherwise."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest

from catalogbridge.decisions.budget import (
    BudgetSettings,
    Cells,
    FundShare,
    Spread,
    evaluate,
    merged,
    scenarios,
    tornado,
    uptake_curve,
    yearly_impact,
)
from catalogbridge.settings import SettingError

NO_SPREAD = {name: Spread() for name in ("fund_share", "induced_demand", "price_change", "growth")}


def _one_cell(rule: int = 0, growth: float = 0.0) -> Cells:
    return Cells(row=np.array([0]), rule=np.array([rule]), growth=np.array([growth]),
                 visits=np.array([10.0]), fees=np.array([100.0]))


def _base(settings: BudgetSettings, cells: Cells | None = None) -> dict[str, np.ndarray]:
    scen = scenarios(settings)
    out = evaluate(cells or _one_cell(), scen, uptake_curve(settings), 1)
    return {name: values[0] for name, values in yearly_impact(out, scen).items()}


def test_defaults_are_the_paper_the_fund_pays_the_fees() -> None:
    year = _base(BudgetSettings(draws=0))
    assert year["fund_impact"].tolist() == [100.0]
    assert year["patient_relief"].tolist() == [100.0]
    assert year["visits_new"].tolist() == [10.0] and year["fees_new"].tolist() == [100.0]
    assert year["patient_new"].tolist() == [0.0] and year["patient_current"].tolist() == [100.0]


def test_fund_share_leaves_the_rest_to_the_patient() -> None:
    year = _base(BudgetSettings(fund_share=0.7, draws=0))
    assert year["fund_new"].tolist() == pytest.approx([70.0])
    assert year["patient_new"].tolist() == pytest.approx([30.0])
    assert year["patient_relief"].tolist() == pytest.approx([70.0])


def test_induced_demand_and_price_change_apply_to_covered_use() -> None:
    year = _base(BudgetSettings(fund_share=0.5, induced_demand=0.1, price_change=-0.2, draws=0))
    # covered use: 10 visits x 1.1 = 11; fees 100 x 1.1 x 0.8 = 88, half paid by the fund
    assert year["visits_new"].tolist() == pytest.approx([11.0])
    assert year["fees_new"].tolist() == pytest.approx([88.0])
    assert year["fund_impact"].tolist() == pytest.approx([44.0])
    assert year["patient_relief"].tolist() == pytest.approx([100.0 - 44.0])


@pytest.mark.parametrize(("uptake", "expected"), [
    ("immediate", [1.0, 1.0, 1.0, 1.0]),
    ("linear", [0.25, 0.5, 0.75, 1.0]),
    # midpoint (4 + 1) / 2 = 2.5, steepness 2: 1 / (1 + e^(-2 (y - 2.5)))
    ("logistic", [1 / (1 + math.exp(3)), 1 / (1 + math.exp(1)), 1 / (1 + math.exp(-1)),
                  1 / (1 + math.exp(-3))]),
])
def test_uptake_curves_year_by_year(uptake: str, expected: list[float]) -> None:
    settings = BudgetSettings(horizon_years=4, uptake=uptake, draws=0)
    assert uptake_curve(settings).tolist() == pytest.approx(expected)
    year = _base(settings)
    assert year["fund_impact"].tolist() == pytest.approx([100 * u for u in expected])
    assert year["fund_impact_to_date"].tolist() == pytest.approx(np.cumsum(
        [100 * u for u in expected]).tolist())


def test_growth_per_pair_compounds_current_and_new_world() -> None:
    settings = BudgetSettings(growth=0.05, growth_by_pair={"330000-310000": 0.1},
                              horizon_years=3, draws=0)
    assert settings.growth_of("330000", "310000") == 0.1
    assert settings.growth_of("330000", "330000") == 0.05
    year = _base(settings, _one_cell(growth=0.1))
    assert year["fees_current"].tolist() == pytest.approx([100.0, 110.0, 121.0])
    assert year["fund_impact"].tolist() == pytest.approx([100.0, 110.0, 121.0])
    assert year["visits_current"].tolist() == pytest.approx([10.0, 11.0, 12.1])


def test_the_most_specific_fund_share_rule_wins() -> None:
    settings = BudgetSettings(fund_share=0.9, fund_share_by=[
        FundShare(0.8, insured="330000"), FundShare(0.6, med_type="21"),
        FundShare(0.5, insured="330000", med_type="21")], draws=0)
    assert settings.share_values() == [0.9, 0.8, 0.6, 0.5]
    assert settings.share_rule("330000", "21") == 3
    assert settings.share_rule("330000", "11") == 1
    assert settings.share_rule("310000", "21") == 2
    assert settings.share_rule("310000", None) == 0
    cells = Cells(row=np.array([0, 0]), rule=np.array([3, 1]), growth=np.zeros(2),
                  visits=np.array([1.0, 2.0]), fees=np.array([100.0, 10.0]))
    assert _base(settings, cells)["fund_impact"].tolist() == pytest.approx([58.0])


def test_merged_cells_give_the_same_result() -> None:
    cells = Cells(row=np.array([0, 1, 0]), rule=np.array([0, 0, 0]), growth=np.zeros(3),
                  visits=np.array([1.0, 2.0, 3.0]), fees=np.array([10.0, 20.0, 30.0]))
    together = merged(cells)
    assert together.row.tolist() == [0, 1] and together.fees.tolist() == [40.0, 20.0]
    settings = BudgetSettings(draws=0)
    scen = scenarios(settings)
    apart = evaluate(cells, scen, uptake_curve(settings), 2)["fund_new"]
    assert evaluate(together, scen, uptake_curve(settings), 2)["fund_new"] == pytest.approx(apart)


def test_tornado_swings() -> None:
    settings = BudgetSettings(draws=0, sensitivity={
        "fund_share": [-0.2, 0.0], "induced_demand": [0.0, 0.2],
        "price_change": [-0.2, 0.1], "growth": [-0.05, 0.05]}, horizon_years=2)
    scen = scenarios(settings)
    rows = tornado(evaluate(_one_cell(), scen, uptake_curve(settings), 1), scen, settings)
    got = {name: (base, low, high, swing) for _, name, _, _, base, low, high, swing in rows}
    # two years of 100 yuan at base; growth: 100 + 95 vs 100 + 105
    assert got["fund_share"] == pytest.approx((200.0, 160.0, 200.0, 40.0))
    assert got["induced_demand"] == pytest.approx((200.0, 200.0, 240.0, 40.0))
    assert got["price_change"] == pytest.approx((200.0, 160.0, 220.0, 60.0))
    assert got["growth"] == pytest.approx((200.0, 195.0, 205.0, 10.0))


def test_zero_variance_monte_carlo_equals_the_deterministic_result() -> None:
    settings = BudgetSettings(fund_share=0.8, induced_demand=0.1, price_change=0.05,
                              growth=0.03, horizon_years=3, uptake="linear", draws=200,
                              spreads=NO_SPREAD)
    year = _base(settings)
    for stat in ("psa_mean", "psa_median", "psa_low", "psa_high"):
        assert np.round(year[stat], 2).tolist() == np.round(year["fund_impact"], 2).tolist()
        assert (np.round(year[f"{stat}_to_date"], 2).tolist()
                == np.round(year["fund_impact_to_date"], 2).tolist())


def test_monte_carlo_is_reproducible_and_brackets_the_base() -> None:
    settings = BudgetSettings(fund_share=0.8, induced_demand=0.1, horizon_years=2, draws=500)
    first, again = _base(settings), _base(settings)
    assert first["psa_mean"].tolist() == again["psa_mean"].tolist()
    assert (first["psa_low"] < first["fund_impact"]).all()
    assert (first["fund_impact"] < first["psa_high"]).all()
    other = _base(dataclasses.replace(settings, seed=7))
    assert other["psa_mean"].tolist() != first["psa_mean"].tolist()
    no_draws = _base(dataclasses.replace(settings, draws=0))
    assert np.isnan(no_draws["psa_mean"]).all()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"fund_share": 1.2}, "fund_share: a share of fees must lie in [0, 1], got 1.2"),
    ({"horizon_years": 6}, "horizon_years: must be 1 to 5, got 6"),
    ({"uptake": "s-curve"}, "uptake: 's-curve' is not one of immediate, linear, logistic"),
    ({"induced_demand": -1.0}, "induced_demand: must be above -1"),
    ({"growth_by_pair": {"3300-3100": 0.1}}, "growth_by_pair.3300-3100: use 'insured-treatment'"),
    ({"sensitivity": {"discount": [0.0, 0.1]}}, "sensitivity.discount: not a parameter"),
    ({"sensitivity": {"growth": [0.1, -0.1]}}, "sensitivity.growth: give [low, high] offsets"),
    ({"spreads": {"growth": Spread("gamma", 0.1)}},
     "spreads.growth.distribution: 'gamma' is not one of normal, fixed"),
    ({"fund_share": 0.9, "spreads": {"fund_share": Spread("beta", 0.4)}},
     "spreads.fund_share.sd: 0.4 is too wide for a share of 0.9"),
    ({"draws": -1}, "draws: must be >= 0"),
])
def test_bad_budget_settings_name_the_key(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SettingError, match=re.escape(message)):
        BudgetSettings(**kwargs)  # type: ignore[arg-type]


def test_a_share_rule_names_a_region_or_med_type() -> None:
    with pytest.raises(SettingError, match=re.escape("insured: name an insured region")):
        FundShare(0.5)
    with pytest.raises(SettingError, match=re.escape("share: a share of fees must lie")):
        FundShare(-0.1, insured="330000")
