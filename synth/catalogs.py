"""Province catalogs: which national items each province lists and at which 医保类别.

Listing and coverage follow an economic gradient: rich eastern provinces list more items and
cover high-tech ones (PET-CT, robot-assisted surgery, gene tests) as 01/02, western ones
leave them 03 or unlisted. A spatially smoothed random effect per item makes neighbouring
provinces resemble each other, so discrepancies between provinces are structured, not noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synth import regions as R
from synth.library import SURCHARGE, VARIANT
from synth.localnames import Profile, local_codes, localize_names, make_profiles

CATALOG_COLUMNS = ["admdvs", "item_code", "item_name", "chrgitm_lv", "national_code", "unit", "price"]
_LEVEL_LABELS = {
    "num": ("01", "02", "03"),
    "jyb": ("甲类", "乙类", "丙类"),
    "short": ("甲", "乙", "丙"),
}


@dataclass
class Catalogs:
    """All province catalogs stacked; row order = province, then local code."""

    items: pd.DataFrame  # CATALOG_COLUMNS + prov (int), lib (int), level (1..3), true_code
    profiles: list[Profile]
    start: np.ndarray  # first row of each province in `items`
    size: np.ndarray  # rows per province


def _standardize(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = (x - x.mean()) / (x.std() + 1e-12)
    return out


def coverage(lib: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(listed[p, i] bool, level[p, i] in 1..3, 0 when unlisted) for every province and item."""
    n = len(lib)
    w = R.wealth_score()
    kern = R.neighbour_kernel()
    tech = lib["tech"].to_numpy()
    pop = _standardize(np.log(lib["pop"].to_numpy() + 1e-9))
    reimb = lib["reimb"].to_numpy()
    common = pop * 0.9 + rng.normal(0.0, 0.6, n)
    spatial1 = rng.normal(0.0, 1.0, (n, R.N_PROV)) @ kern.T
    spatial2 = rng.normal(0.0, 1.0, (n, R.N_PROV)) @ kern.T
    noise1 = rng.normal(0.0, 0.35, (n, R.N_PROV))
    noise2 = rng.normal(0.0, 0.45, (n, R.N_PROV))
    gap = 1.0 - w[None, :]
    score = common[:, None] + 0.55 * spatial1 + noise1 - 3.0 * tech[:, None] * gap
    frac = 0.30 + 0.60 * w**0.8
    listed = np.zeros((R.N_PROV, n), dtype=bool)
    for p in range(R.N_PROV):
        k = max(1, round(frac[p] * n))
        top = np.argpartition(-score[:, p], k - 1)[:k]
        listed[p, top] = True
    lscore = reimb[:, None] + 0.6 * spatial2 + noise2 - 2.2 * tech[:, None] * gap + 0.4 * pop[:, None]
    level = np.zeros((R.N_PROV, n), dtype=np.int8)
    for p in range(R.N_PROV):
        idx = np.flatnonzero(listed[p])
        order = idx[np.argsort(-lscore[idx, p], kind="stable")]
        share3 = 0.07 + 0.18 * (1.0 - w[p])
        share1 = 0.50 + 0.10 * w[p]
        n1 = round(share1 * len(order))
        n3 = round(share3 * len(order))
        level[p, order[:n1]] = 1
        level[p, order[n1 : len(order) - n3]] = 2
        level[p, order[len(order) - n3 :]] = 3
    return listed, level


def _reported_codes(lib: pd.DataFrame, idx: np.ndarray, prof: Profile, rng: np.random.Generator) -> list[str]:
    """The catalog's own national_code column: mostly right, partly wrong or missing."""
    codes = lib["item_code"].to_numpy()
    parent = lib["parent_code"].to_numpy()
    if prof.natcode == "none":
        return [""] * len(idx)
    out: list[str] = []
    for i in idx:
        r = rng.random()
        if prof.natcode == "partial" and r < 0.55:
            out.append("")
            continue
        u = rng.random()
        true = str(codes[i])
        if u < 0.94:
            out.append(true)
        elif u < 0.965:  # a sibling or the neighbouring item of the same section
            alt = str(parent[i]) if parent[i] != true else str(codes[min(i + 1, len(codes) - 1)])
            out.append(alt)
        elif u < 0.98:  # spreadsheet damage: leading zeros lost
            out.append(true.lstrip("0"))
        else:
            out.append("")
    return out


def build_catalogs(lib: pd.DataFrame, seed: int) -> Catalogs:
    rng = np.random.default_rng([seed, 202])
    listed, level = coverage(lib, rng)
    profiles = make_profiles(R.N_PROV, rng)
    w = R.wealth_score()
    price = lib["price"].to_numpy()
    frames: list[pd.DataFrame] = []
    for p, prov in enumerate(R.PROVINCES):
        prof = profiles[p]
        prng = np.random.default_rng([seed, 303, p])
        idx = np.flatnonzero(listed[p])  # library is sorted by code
        lv = level[p, idx]
        labels = _LEVEL_LABELS[prof.level_style]
        lv_text = np.array(labels, dtype=object)[lv - 1]
        if prof.level_style == "short":
            lv_text = np.where((lv == 3) & (prng.random(len(idx)) < 0.35), "自费", lv_text)
        local_price = price[idx] * (0.75 + 0.5 * w[p]) * prng.lognormal(0.0, 0.08, len(idx))
        local_price = np.where(local_price >= 50, np.round(local_price), np.round(local_price, 1))
        frame = pd.DataFrame(
            {
                "admdvs": prov.code,
                "item_code": local_codes(lib, idx, prof, prov.code, prng),
                "item_name": localize_names(lib, idx, prof, prng),
                "chrgitm_lv": lv_text,
                "national_code": _reported_codes(lib, idx, prof, prng),
                "unit": lib["unit"].to_numpy()[idx],
                "price": np.maximum(local_price, 0.5),
                "prov": p,
                "lib": idx,
                "level": lv,
                "true_code": lib["item_code"].to_numpy()[idx],
            }
        )
        if frame["item_code"].duplicated().any():
            raise AssertionError(f"duplicate local code in {prov.code}")
        frames.append(frame.sort_values("item_code", kind="stable"))
    items = pd.concat(frames, ignore_index=True)
    size = np.array([len(f) for f in frames], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
    return Catalogs(items, profiles, start, size)


def kind_counts(lib: pd.DataFrame) -> dict[str, int]:
    kind = lib["kind"].to_numpy()
    return {
        "main": int((kind == 0).sum()),
        "variant": int((kind == VARIANT).sum()),
        "surcharge": int((kind == SURCHARGE).sum()),
    }
