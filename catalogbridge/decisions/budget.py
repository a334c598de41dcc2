"""The fund-impact model: what newly covering items costs the fund and saves patients, by year.

Current world: an item a region does not cover is paid in full by its insured. New world:
from year 1 the region covers it; a share `u_y` of its use takes up the cover (the uptake
curve), covered use rises by the induced demand `d` and its price changes by `p`, and the
fund pays its share `s` (per insured region and med_type). All use grows by `g` a year (per
region pair). For a cell with visits V and fees F in the base year, in year y:

    growth   G = (1 + g) ** (y - 1)
    visits   current V·G,  new V·G·(1 + u_y·d)
    fees     current F·G,  new F·G·(1 + u_y·((1 + d)(1 + p) − 1))
    fund     current 0,    new s·F·G·u_y·(1 + d)(1 + p)
    patient  current F·G,  new fees − fund

With the defaults (s = 1, d = p = g = 0, one year, immediate uptake) the fund's added spend
is the paper's: the items' fees. Pure numpy, so it is tested without Spark; the Spark side
(`decisions.impact`) hands it one decision unit at a time.

Scenarios: row 0 is the base; then, per parameter of `SENSITIVITY_PARAMETERS`, its low and
high value with the others at base (the tornado); then the Monte Carlo draws. A draw takes
each fund-share rule from a beta distribution around its base, the demand and price factors
(1 + d), (1 + p) from lognormals around theirs and the growth from a normal; with every
spread 0 each draw equals the base exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from catalogbridge.settings import SettingError, check_choice

SENSITIVITY_PARAMETERS = ("fund_share", "induced_demand", "price_change", "growth")
UPTAKE_CURVES = ("immediate", "linear", "logistic")
DISTRIBUTIONS = {"fund_share": ("beta", "fixed"), "induced_demand": ("lognormal", "fixed"),
                 "price_change": ("lognormal", "fixed"), "growth": ("normal", "fixed")}
MAX_HORIZON = 5


@dataclass(frozen=True)
class FundShare:
    """The fund's share of fees for one insured region and/or med_type ("" = any)."""

    share: float
    insured: str = ""
    med_type: str = ""

    def __post_init__(self) -> None:
        _check_share("share", self.share)
        if not (self.insured or self.med_type):
            raise SettingError("insured", "name an insured region, a med_type or both "
                                          "(the share of every other case is fund_share)")


@dataclass(frozen=True)
class Spread:
    """A parameter's Monte Carlo distribution around its base value."""

    distribution: str = "fixed"
    sd: float = 0.0

    def __post_init__(self) -> None:
        if self.sd < 0:
            raise SettingError("sd", f"must be >= 0, got {self.sd}")


def _default_sensitivity() -> dict[str, list[float]]:
    return {"fund_share": [-0.2, 0.0], "induced_demand": [0.0, 0.2],
            "price_change": [-0.2, 0.1], "growth": [-0.05, 0.05]}


def _default_spreads() -> dict[str, Spread]:
    return {"fund_share": Spread("beta", 0.05), "induced_demand": Spread("lognormal", 0.1),
            "price_change": Spread("lognormal", 0.1), "growth": Spread("normal", 0.02)}


@dataclass(frozen=True)
class BudgetSettings:
    """The fund-impact model (conf `decision.budget`); defaults reproduce the paper.

    `fund_share_by`: rules for insured regions and/or med_types; the most specific wins
    (region and med_type, then region, then med_type, then `fund_share`).
    `growth_by_pair`: "insured-treatment" (e.g. "330000-310000") -> annual growth.
    `uptake_midpoint` (years; 0 = the middle of the horizon) and `uptake_steepness` shape
    the logistic ramp. `sensitivity`: parameter -> [low, high] offsets from its base value.
    `spreads`: parameter -> distribution and sd for the `draws` Monte Carlo draws (0 = none).
    """

    fund_share: float = 1.0
    fund_share_by: list[FundShare] = field(default_factory=list)
    induced_demand: float = 0.0
    price_change: float = 0.0
    growth: float = 0.0
    growth_by_pair: dict[str, float] = field(default_factory=dict)
    horizon_years: int = 1
    uptake: str = "immediate"
    uptake_midpoint: float = 0.0
    uptake_steepness: float = 2.0
    sensitivity: dict[str, list[float]] = field(default_factory=_default_sensitivity)
    draws: int = 1000
    seed: int = 2025
    spreads: dict[str, Spread] = field(default_factory=_default_spreads)

    def __post_init__(self) -> None:
        _check_share("fund_share", self.fund_share)
        for key in ("induced_demand", "price_change", "growth"):
            if getattr(self, key) <= -1:
                raise SettingError(key, f"must be above -1 (a relative change), got "
                                        f"{getattr(self, key)}")
        for pair, g in self.growth_by_pair.items():
            if not _is_pair(pair) or g <= -1:
                raise SettingError(f"growth_by_pair.{pair}", "use 'insured-treatment' region "
                                   "codes such as 330000-310000 and a growth above -1")
        if not 1 <= self.horizon_years <= MAX_HORIZON:
            raise SettingError("horizon_years", f"must be 1 to {MAX_HORIZON}, got "
                                                f"{self.horizon_years}")
        check_choice("uptake", self.uptake, UPTAKE_CURVES)
        if self.uptake_steepness <= 0 or self.uptake_midpoint < 0:
            raise SettingError("uptake_steepness", "steepness must be > 0 and the midpoint "
                                                   ">= 0 (0 = the middle of the horizon)")
        self._check_sensitivity()
        if self.draws < 0:
            raise SettingError("draws", f"must be >= 0 (0: no Monte Carlo), got {self.draws}")
        self._check_spreads()

    def _check_sensitivity(self) -> None:
        for name, offsets in self.sensitivity.items():
            if name not in SENSITIVITY_PARAMETERS:
                raise SettingError(f"sensitivity.{name}", "not a parameter; use one of "
                                   + ", ".join(SENSITIVITY_PARAMETERS))
            if len(offsets) != 2 or offsets[0] > offsets[1]:
                raise SettingError(f"sensitivity.{name}", f"give [low, high] offsets from the "
                                                          f"base value, got {offsets}")

    def _check_spreads(self) -> None:
        for name, spread in self.spreads.items():
            if name not in DISTRIBUTIONS:
                raise SettingError(f"spreads.{name}", "not a parameter; use one of "
                                   + ", ".join(DISTRIBUTIONS))
            check_choice(f"spreads.{name}.distribution", spread.distribution,
                         DISTRIBUTIONS[name])
        share = self.spreads.get("fund_share", Spread())
        if share.distribution == "beta":
            for s in self.share_values():
                if 0 < s < 1 and share.sd ** 2 >= s * (1 - s):
                    raise SettingError("spreads.fund_share.sd", f"{share.sd} is too wide for a "
                                       f"share of {s}: a beta needs sd < {math.sqrt(s * (1 - s)):.3f}")

    def share_values(self) -> list[float]:
        """The base share of each fund-share rule: `fund_share` first, then `fund_share_by`."""
        return [self.fund_share, *[rule.share for rule in self.fund_share_by]]

    def share_rule(self, insured: str, med_type: str | None) -> int:
        """Index (in `share_values`) of the rule that sets the share of this region/med_type."""
        best, rank = 0, 0
        for i, rule in enumerate(self.fund_share_by, start=1):
            if rule.insured not in ("", insured) or rule.med_type not in ("", med_type or ""):
                continue
            this = 2 * bool(rule.insured) + bool(rule.med_type)
            if this > rank:
                best, rank = i, this
        return best

    def growth_of(self, insured: str, region: str) -> float:
        return self.growth_by_pair.get(f"{insured}-{region}", self.growth)


def _check_share(key: str, value: float) -> None:
    if not 0 <= value <= 1:
        raise SettingError(key, f"a share of fees must lie in [0, 1], got {value}")


def _is_pair(text: str) -> bool:
    parts = text.split("-")
    return len(parts) == 2 and all(len(p) == 6 and p.isdigit() for p in parts)


def uptake_curve(settings: BudgetSettings) -> np.ndarray:
    """The share of use that takes up the new cover in years 1..horizon."""
    years = np.arange(1, settings.horizon_years + 1, dtype=float)
    if settings.uptake == "immediate":
        return np.ones_like(years)
    if settings.uptake == "linear":
        return years / settings.horizon_years
    mid = settings.uptake_midpoint or (settings.horizon_years + 1) / 2
    return 1.0 / (1.0 + np.exp(-settings.uptake_steepness * (years - mid)))


@dataclass(frozen=True)
class Scenarios:
    """Parameter values per scenario (rows): base, tornado low/high per parameter, draws."""

    shares: np.ndarray          # scenarios x share rules
    demand: np.ndarray          # induced demand d
    price: np.ndarray           # price change p
    growth_shift: np.ndarray    # added to every cell's base growth
    tornado: tuple[str, ...]    # parameter of rows 1, 3, 5, ... (low) and 2, 4, ... (high)
    draws: int

    @property
    def first_draw(self) -> int:
        return 1 + 2 * len(self.tornado)


def scenarios(settings: BudgetSettings) -> Scenarios:
    """Every scenario the model evaluates, drawn once on the driver (draws x share rules)."""
    base_shares = np.array(settings.share_values())
    base = {"fund_share": 0.0, "induced_demand": settings.induced_demand,
            "price_change": settings.price_change, "growth": 0.0}
    rows: list[dict[str, float]] = [dict(base)]
    for name in settings.sensitivity:
        for offset in settings.sensitivity[name]:
            rows.append({**base, name: base[name] + offset})
    tornado_shares = np.clip(base_shares[None, :] + np.array(
        [[r["fund_share"]] for r in rows]), 0.0, 1.0)
    rng = np.random.default_rng(settings.seed)
    k = settings.draws
    draw_shares = np.column_stack([_beta(rng, s, settings.spreads.get("fund_share"), k)
                                   for s in base_shares]) if k else np.empty((0, len(base_shares)))
    return Scenarios(
        shares=np.vstack([tornado_shares, draw_shares]),
        demand=np.concatenate([[r["induced_demand"] for r in rows],
                               _lognormal(rng, settings.induced_demand,
                                          settings.spreads.get("induced_demand"), k)]),
        price=np.concatenate([[r["price_change"] for r in rows],
                              _lognormal(rng, settings.price_change,
                                         settings.spreads.get("price_change"), k)]),
        growth_shift=np.concatenate([[r["growth"] for r in rows],
                                     _normal(rng, settings.spreads.get("growth"), k)]),
        tornado=tuple(settings.sensitivity), draws=k)


def _fixed(spread: Spread | None) -> bool:
    return spread is None or spread.distribution == "fixed" or spread.sd == 0


def _beta(rng: np.random.Generator, mean: float, spread: Spread | None, k: int) -> np.ndarray:
    if _fixed(spread) or mean in (0.0, 1.0):
        return np.full(k, mean)
    assert spread is not None
    concentration = mean * (1 - mean) / spread.sd ** 2 - 1
    return rng.beta(mean * concentration, (1 - mean) * concentration, k)


def _lognormal(rng: np.random.Generator, base: float, spread: Spread | None,
               k: int) -> np.ndarray:
    """A relative change whose factor (1 + x) is lognormal with median (1 + base)."""
    if _fixed(spread):
        return np.full(k, base)
    assert spread is not None
    return (1 + base) * np.exp(spread.sd * rng.standard_normal(k)) - 1


def _normal(rng: np.random.Generator, spread: Spread | None, k: int) -> np.ndarray:
    if _fixed(spread):
        return np.zeros(k)
    assert spread is not None
    return spread.sd * rng.standard_normal(k)


@dataclass(frozen=True)
class Cells:
    """One decision unit's base-year use: per cell its output row, share rule and growth."""

    row: np.ndarray        # index of the output row (scheme / member) the cell adds to
    rule: np.ndarray       # share rule of the cell's insured region and med_type
    growth: np.ndarray     # base annual growth of the cell's region pair
    visits: np.ndarray
    fees: np.ndarray


MEASURES = ("visits_current", "visits_new", "fees_current", "fees_new",
            "fund_current", "fund_new", "patient_current", "patient_new")


def evaluate(cells: Cells, scen: Scenarios, uptake: np.ndarray, rows: int) -> dict[str, np.ndarray]:
    """Every measure per output row, scenario and year: arrays rows x scenarios x years."""
    years = np.arange(len(uptake), dtype=float)
    growth = (1.0 + cells.growth[:, None, None] + scen.growth_shift[None, :, None]) ** years
    u = uptake[None, None, :]
    demand = scen.demand[None, :, None]
    factor = (1.0 + demand) * (1.0 + scen.price[None, :, None])
    share = scen.shares[:, cells.rule].T[:, :, None]
    fees = cells.fees[:, None, None] * growth
    visits = cells.visits[:, None, None] * growth
    per_cell = {
        "visits_current": visits, "visits_new": visits * (1.0 + u * demand),
        "fees_current": fees, "fees_new": fees * (1.0 + u * (factor - 1.0)),
        "fund_new": share * fees * u * factor,
    }
    out = {}
    for name, values in per_cell.items():
        summed = np.zeros((rows, *values.shape[1:]))
        np.add.at(summed, cells.row, values)
        out[name] = summed
    out["fund_current"] = np.zeros_like(out["fees_current"])
    out["patient_current"] = out["fees_current"] - out["fund_current"]
    out["patient_new"] = out["fees_new"] - out["fund_new"]
    return out


def merged(cells: Cells) -> Cells:
    """Cells with the same output row, share rule and growth added up (the model is linear
    in visits and fees), so a unit's arrays grow with its rows, not with its items."""
    keys = np.column_stack([cells.row, cells.rule, cells.growth])
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    visits, fees = np.zeros(len(unique)), np.zeros(len(unique))
    np.add.at(visits, inverse, cells.visits)
    np.add.at(fees, inverse, cells.fees)
    return Cells(row=unique[:, 0].astype(int), rule=unique[:, 1].astype(int),
                 growth=unique[:, 2], visits=visits, fees=fees)


PSA_COLUMNS = ("psa_mean", "psa_median", "psa_low", "psa_high")
TORNADO_COLUMNS = ("parameter", "low_offset", "high_offset", "impact_base", "impact_low",
                   "impact_high", "swing")


def yearly_impact(out: dict[str, np.ndarray], scen: Scenarios) -> dict[str, np.ndarray]:
    """Base-scenario measures per row and year (rows x years), the fund impact and patient
    relief, their running totals, and the Monte Carlo mean, median and 95 % interval of the
    fund impact in the year and to date (NaN without draws)."""
    result = {name: values[:, 0, :] for name, values in out.items()}
    impact = out["fund_new"] - out["fund_current"]
    relief = out["patient_current"] - out["patient_new"]
    result["fund_impact"] = impact[:, 0, :]
    result["patient_relief"] = relief[:, 0, :]
    result["fund_impact_to_date"] = np.cumsum(impact[:, 0, :], axis=1)
    for label, values in (("", impact), ("_to_date", np.cumsum(impact, axis=2))):
        draws = values[:, scen.first_draw:, :]
        for name, stat in zip(PSA_COLUMNS, _psa_stats(draws), strict=True):
            result[name + label] = stat
    return result


def _psa_stats(draws: np.ndarray) -> tuple[np.ndarray, ...]:
    if draws.shape[1] == 0:
        empty = np.full((draws.shape[0], draws.shape[2]), np.nan)
        return empty, empty, empty, empty
    low, median, high = np.quantile(draws, [0.025, 0.5, 0.975], axis=1)
    return draws.mean(axis=1), median, low, high


TornadoRow = tuple[int, str, float, float, float, float, float, float]


def tornado(out: dict[str, np.ndarray], scen: Scenarios,
            settings: BudgetSettings) -> list[TornadoRow]:
    """Per row and parameter: the fund impact over the horizon at base, at the parameter's
    low and high value (the others at base), and the swing between them."""
    total = (out["fund_new"] - out["fund_current"]).sum(axis=2)
    rows: list[TornadoRow] = []
    for r in range(total.shape[0]):
        for i, name in enumerate(scen.tornado):
            low, high = settings.sensitivity[name]
            at_low, at_high = total[r, 1 + 2 * i], total[r, 2 + 2 * i]
            rows.append((r, name, low, high, float(total[r, 0]), float(at_low),
                         float(at_high), float(abs(at_high - at_low))))
    return rows
