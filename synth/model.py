"""Everything settlement generation precomputes once: flows, people, item sampling tables.

Item sampling: per treatment province, setting (outpatient / chronic / inpatient) and
home-vs-cross-province, a cumulative weight table over that province's catalog rows, so a
line is one `searchsorted`. Class totals follow `USAGE_SHARE` whatever the catalog holds,
and cross-province visits favour treatment and high-tech items (that is why patients travel).
Within a therapeutic class, travellers' use is heavy-tailed the way real use is (Huang et
al. 2025: a few dozen of 244 discrepant items carry most visits): a covered item weighs more
the fewer provinces cover it, times a lognormal reputation of the item in that province.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synth import calibration as C
from synth import regions as R
from synth import vocab as V
from synth.catalogs import Catalogs

MED_TYPES = ("11", "14", "21")  # outpatient, chronic outpatient, inpatient
UNIT_CODES = {"日": 1, "小时": 2, "部位": 3, "每牙": 3}
# Mean billed quantity per unit code (see settlements.generate_chunk).
EXPECTED_CNT = np.array([0.85 + 0.15 * 3.0, 1.0, 12.5, 0.85 + 0.15 * 2.5])
TRAVEL_RARITY = 3.0  # cross weight x exp(this * share of provinces not covering the item)
REPUTATION_SIGMA = 2.0  # lognormal sigma of an item's draw on travellers, per province


@dataclass
class Model:
    seed: int
    n_days: int
    start_epoch: int  # period start, seconds since 1970-01-01 (naive local time)
    cities: R.CityTable
    city_cdf: np.ndarray  # insured city sampling
    cross_p: np.ndarray  # [med_type, insured province]
    dest_cdf: np.ndarray  # [insured province, treatment province] cumulative
    capital: np.ndarray  # capital city index per province
    city_in_prov_cdf: list[np.ndarray]
    pool: np.ndarray  # persons per insured city
    hospitals: np.ndarray  # hospitals per city
    day_cdf: np.ndarray  # outpatient day-of-period weights (weekday effect)
    cat_start: np.ndarray
    cat_size: np.ndarray
    item_cdf: list[np.ndarray]  # index (prov * 3 + setting) * 2 + cross
    fallback: np.ndarray  # most used unrestricted row per table
    row_lib: np.ndarray  # catalog row -> library index
    row_price: np.ndarray
    row_unit: np.ndarray  # unit class code per catalog row
    row_sex: np.ndarray  # 0 any, 1 male only, 2 female only
    row_child: np.ndarray
    row_report: np.ndarray  # catalog row has a usable reported national code
    report_rate: np.ndarray  # per province
    alphas: list[float]  # calibrated price elasticity of usage per med_type
    lib_level: np.ndarray  # [province, library item] level 1..3, 0 = not listed


def _class_shares(s: int, cross: int) -> np.ndarray:
    """Usage share per class index (order of `V.CLASSES`) for a setting, home or cross."""
    out = np.empty(len(V.CLASSES))
    for j, k in enumerate(V.CLASSES):
        share = V.USAGE_SHARE[k][1 if s == 2 else 0]
        if s == 1:
            share *= V.CHRONIC_CLASS_BOOST.get(k, 1.0)
        if cross:
            share *= V.CROSS_CLASS_BOOST.get(k, 1.0)
        out[j] = share
    return out


def _class_normalise(w: np.ndarray, cls: np.ndarray, s: int, cross: int) -> np.ndarray:
    """Rescale weights so each class (integer index) gets its usage share."""
    tot = np.bincount(cls, weights=w, minlength=len(V.CLASSES))
    share = _class_shares(s, cross)
    factor = np.divide(share, tot, out=np.zeros_like(tot), where=tot > 0)
    out = w * factor[cls]
    res: np.ndarray = out / out.sum()
    return res


def _calibrate_alpha(
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]], prov_w: np.ndarray, s: int, target: float
) -> float:
    """Price elasticity of usage (weight * price**-alpha) hitting the target mean line fee."""

    def mean_fee(alpha: float) -> float:
        tot = 0.0
        for (w, cls, fee), pw in zip(blocks, prov_w, strict=True):
            q = _class_normalise(w * fee ** (-alpha), cls, s, 0)
            tot += pw * float((q * fee).sum())
        return tot

    lo, hi = 0.0, 2.0
    if mean_fee(lo) <= target:
        return lo
    for _ in range(30):
        mid = (lo + hi) / 2
        if mean_fee(mid) > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _travel(lib: pd.DataFrame, cats: Catalogs, cls: np.ndarray, seed: int) -> np.ndarray:
    """Cross-province weight factor per catalog row: therapeutic items the province covers
    and few others do draw patients, and each province has its own star items."""
    li = cats.items["lib"].to_numpy()
    lvl = cats.items["level"].to_numpy()
    covered = (lvl == 1) | (lvl == 2)
    rarity = 1.0 - np.bincount(li[covered], minlength=len(lib))[li] / R.N_PROV
    therapeutic = np.array([k[0] not in "12" or k == "24" for k in V.CLASSES])[cls]
    reputation = np.random.default_rng([seed, 505]).lognormal(0.0, REPUTATION_SIGMA, len(li))
    out: np.ndarray = np.where(therapeutic & covered, np.exp(TRAVEL_RARITY * rarity) * reputation, 1.0)
    return out


def _item_tables(
    lib: pd.DataFrame, cats: Catalogs, unit: np.ndarray, seed: int
) -> tuple[list[np.ndarray], np.ndarray, list[float]]:
    items = cats.items
    li = items["lib"].to_numpy()
    class_idx = {k: j for j, k in enumerate(V.CLASSES)}
    cls = np.array([class_idx[c] for c in lib["class2"].to_numpy()])[li]
    travel = _travel(lib, cats, cls, seed)
    pop = lib["pop"].to_numpy()[li]
    tech = lib["tech"].to_numpy()[li]
    level_w = np.where(items["level"].to_numpy() == 3, 0.5, 1.0)
    restricted = (lib["sex"].to_numpy()[li] != "") | lib["child"].to_numpy()[li]
    exp_fee = items["price"].to_numpy(np.float64) * EXPECTED_CNT[unit]
    prop = {0: lib["op"].to_numpy()[li], 1: lib["chronic"].to_numpy()[li], 2: lib["ip"].to_numpy()[li]}
    pw = np.array([p.pop_m for p in R.PROVINCES])
    pw = pw / pw.sum()
    sl = [slice(int(cats.start[p]), int(cats.start[p] + cats.size[p])) for p in range(R.N_PROV)]
    alphas = []
    for s, mt in enumerate(MED_TYPES):
        blocks = [(pop[x] * prop[s][x] * level_w[x], cls[x], exp_fee[x]) for x in sl]
        alphas.append(_calibrate_alpha(blocks, pw, s, C.TARGET_FEE_PER_VISIT[mt] / C.MEAN_LINES[mt]))
    tables: list[np.ndarray] = []
    fallback = np.zeros(R.N_PROV * 6, dtype=np.int64)
    for p in range(R.N_PROV):
        x = sl[p]
        for s in range(3):
            base = pop[x] * prop[s][x] * level_w[x] * exp_fee[x] ** (-alphas[s])
            for cross in (0, 1):
                w = base * (1.0 + 1.0 * tech[x]) * travel[x] if cross else base
                q = _class_normalise(w, cls[x], s, cross)
                cdf = np.cumsum(q)
                cdf /= cdf[-1]
                t = (p * 3 + s) * 2 + cross
                tables.append(cdf)
                free = np.where(restricted[x], 0.0, q)
                fallback[t] = x.start + int(np.argmax(free))
    return tables, fallback, alphas


def _day_weights(start: np.datetime64, n_days: int) -> np.ndarray:
    days = start + np.arange(n_days).astype("timedelta64[D]")
    dow = (days.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 0 = Monday
    w = np.where(dow == 5, 0.55, np.where(dow == 6, 0.45, 1.0))
    cdf = np.cumsum(w)
    out: np.ndarray = cdf / cdf[-1]
    return out


def build_model(
    lib: pd.DataFrame, cats: Catalogs, seed: int, start: np.datetime64, n_days: int, est_visits: int
) -> Model:
    cities = R.city_table()
    pop = np.array([p.pop_m for p in R.PROVINCES])
    city_w = pop[cities.prov] * cities.weight
    city_cdf = np.cumsum(city_w) / city_w.sum()
    cross_p = np.stack([R.cross_share(C.CROSS_SHARE[m] * C.CROSS_SAMPLING) for m in MED_TYPES])
    dest_cdf = np.cumsum(R.destination_weights(), axis=1)
    dest_cdf /= dest_cdf[:, -1:]
    city_in_prov_cdf = []
    for p in range(R.N_PROV):
        f, n = int(cities.first[p]), int(cities.count[p])
        w = cities.weight[f : f + n]
        city_in_prov_cdf.append(np.cumsum(w) / w.sum())
    share = city_w / city_w.sum()
    pool = np.maximum(20, np.ceil(share * est_visits / C.VISITS_PER_PERSON)).astype(np.int64)
    hospitals = np.maximum(8, np.round(30 + 6000 * share)).astype(np.int64)
    items = cats.items
    li = items["lib"].to_numpy()
    sex = lib["sex"].to_numpy()[li]
    unit = items["unit"].map(lambda u: UNIT_CODES.get(str(u), 0)).to_numpy(np.int8)
    tables, fallback, alphas = _item_tables(lib, cats, unit, seed)
    lib_level = np.zeros((R.N_PROV, len(lib)), dtype=np.int8)
    lib_level[items["prov"].to_numpy(), li] = items["level"].to_numpy()
    reported = items["national_code"].to_numpy()
    return Model(
        seed=seed,
        n_days=n_days,
        start_epoch=int(start.astype("datetime64[s]").astype(np.int64)),
        cities=cities,
        city_cdf=city_cdf,
        cross_p=cross_p,
        dest_cdf=dest_cdf,
        capital=cities.first.copy(),
        city_in_prov_cdf=city_in_prov_cdf,
        pool=pool,
        hospitals=hospitals,
        day_cdf=_day_weights(start, n_days),
        cat_start=cats.start,
        cat_size=cats.size,
        item_cdf=tables,
        fallback=fallback,
        row_lib=li.astype(np.int64),
        row_price=items["price"].to_numpy(np.float64),
        row_unit=unit,
        row_sex=np.where(sex == "M", 1, np.where(sex == "F", 2, 0)).astype(np.int8),
        row_child=lib["child"].to_numpy()[li].astype(bool),
        row_report=np.array([len(str(x)) > 0 for x in reported]),
        report_rate=np.array([p.report_rate for p in cats.profiles]),
        alphas=alphas,
        lib_level=lib_level,
    )


def splitmix64(x: np.ndarray) -> np.ndarray:
    """Stateless 64-bit hash, so a person's sex and age do not depend on chunking."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    out: np.ndarray = z ^ (z >> np.uint64(31))
    return out


def person_traits(seed: int, city: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sex 1/2, age) of person `idx` of insured city `city`; deterministic per person."""
    key = (
        (np.uint64(seed & 0xFFFFFFFF) << np.uint64(40))
        ^ (city.astype(np.uint64) << np.uint64(32))
        ^ idx.astype(np.uint64)
    )
    h = splitmix64(key)
    sex = (h & np.uint64(1)).astype(np.int8) + 1
    u = ((h >> np.uint64(11)).astype(np.float64)) / float(1 << 53)
    # Age: a child bump plus an adult distribution skewed to the elderly (who use most care).
    child = u < 0.12
    age_child = np.floor(u / 0.12 * 15)
    v = np.clip((u - 0.12) / 0.88, 0.0, 1.0)
    age_adult = 15 + np.floor(75 * v**0.8)
    age = np.where(child, age_child, age_adult).astype(np.int32)
    return sex, age
