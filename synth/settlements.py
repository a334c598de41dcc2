"""Clean settlement lines for one chunk of whole visits, as numpy arrays (no strings yet).

A visit has an insured city, a treatment city (home city, another city of the province, or
another province through the gravity model), a med_type, a date, a person and a hospital;
its lines are items of the treatment province's catalog drawn from skewed usage tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth import calibration as C
from synth.model import MED_TYPES, Model, person_traits


@dataclass
class Chunk:
    """Visit-level (v_*) and line-level (l_*) arrays of one chunk."""

    visit_offset: int
    line_offset: int
    v_ic: np.ndarray  # insured city index
    v_tc: np.ndarray  # treatment city index
    v_ip: np.ndarray  # insured province index
    v_tp: np.ndarray  # treatment province index
    v_mt: np.ndarray  # med_type index into MED_TYPES
    v_psn: np.ndarray  # person index within the insured city
    v_sex: np.ndarray
    v_age: np.ndarray
    v_hosp: np.ndarray
    l_visit: np.ndarray  # local visit index of each line
    l_row: np.ndarray  # catalog row billed
    l_ts: np.ndarray  # seconds since epoch (naive local time)
    l_cnt: np.ndarray
    l_pric: np.ndarray
    l_fee: np.ndarray
    l_report: np.ndarray  # line carries med_list_codg


REDRAW_HOME_COVERED = 0.7


def mean_lines() -> float:
    return sum(C.VISIT_MIX[m] * C.MEAN_LINES[m] for m in MED_TYPES)


def _line_counts(rng: np.random.Generator, mt: np.ndarray) -> np.ndarray:
    n = len(mt)
    op = 3 + rng.binomial(5, 0.45, n)
    ch = 2 + rng.binomial(4, 0.5, n)
    ip = np.clip(np.round(rng.lognormal(np.log(28.0), 0.4, n)), 15, 60).astype(np.int64)
    out: np.ndarray = np.where(mt == 0, op, np.where(mt == 1, ch, ip)).astype(np.int64)
    return out


def _pick(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)
    return out


def _visits(m: Model, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    mix = np.cumsum([C.VISIT_MIX[t] for t in MED_TYPES])
    mt = _pick(mix / mix[-1], rng.random(n))
    ic = _pick(m.city_cdf, rng.random(n))
    ip = m.cities.prov[ic]
    cross = rng.random(n) < m.cross_p[mt, ip]
    tp = ip.copy()
    u = rng.random(n)
    for p in np.unique(ip[cross]):
        sel = cross & (ip == p)
        tp[sel] = _pick(m.dest_cdf[p], u[sel])
    tc = ic.copy()
    stay = np.array([C.STAY_IN_CITY[t] for t in MED_TYPES])[mt]
    move = ~cross & (rng.random(n) >= stay)
    to_cap = cross & (rng.random(n) < C.CROSS_TO_CAPITAL)
    tc[to_cap] = m.capital[tp[to_cap]]
    other = move | (cross & ~to_cap)
    u = rng.random(n)
    for p in np.unique(tp[other]):
        sel = other & (tp == p)
        tc[sel] = m.cities.first[p] + _pick(m.city_in_prov_cdf[p], u[sel])
    psn = np.floor(m.pool[ic] * rng.random(n) ** 2).astype(np.int64)
    sex, age = person_traits(m.seed, ic, psn)
    skew = np.where(cross, 3.0, 1.5)
    hosp = np.floor(m.hospitals[tc] * rng.random(n) ** skew).astype(np.int64)
    return {
        "mt": mt,
        "ic": ic,
        "ip": ip,
        "tp": tp,
        "tc": tc,
        "cross": cross,
        "psn": psn,
        "sex": sex,
        "age": age,
        "hosp": hosp,
    }


def _draw(m: Model, rng: np.random.Generator, table: np.ndarray) -> np.ndarray:
    """One catalog row per line from its usage table (grouped for vectorised lookups)."""
    rows = np.empty(len(table), dtype=np.int64)
    if len(table) == 0:
        return rows
    order = np.argsort(table, kind="stable")
    ts = table[order]
    bounds = np.flatnonzero(np.diff(ts)) + 1
    u = rng.random(len(table))
    for a, b in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(ts)]]), strict=True):
        k = int(ts[a])
        sel = order[a:b]
        rows[sel] = m.cat_start[k // 6] + _pick(m.item_cdf[k], u[sel])
    return rows


def _draw_items(
    m: Model,
    rng: np.random.Generator,
    tp: np.ndarray,
    ip: np.ndarray,
    mt: np.ndarray,
    cross: np.ndarray,
    sex: np.ndarray,
    age: np.ndarray,
) -> np.ndarray:
    """Catalog rows for lines.

    Cross-province patients travel for what home does not offer: an item their own province
    covers (01/02) is redrawn with probability REDRAW_HOME_COVERED, twice. Items restricted to
    the other sex or to children are redrawn, then replaced by the table's fallback.
    """
    table = (tp * 3 + mt) * 2 + cross.astype(np.int64)
    rows = _draw(m, rng, table)
    xi = np.flatnonzero(cross)
    for _ in range(2):
        lvl = m.lib_level[ip[xi], m.row_lib[rows[xi]]]
        redo = xi[(lvl == 1) | (lvl == 2)]
        redo = redo[rng.random(len(redo)) < REDRAW_HOME_COVERED]
        rows[redo] = _draw(m, rng, table[redo])
    for attempt in range(4):
        bad = np.flatnonzero(
            ((m.row_sex[rows] != 0) & (m.row_sex[rows] != sex)) | (m.row_child[rows] & (age > 14))
        )
        if len(bad) == 0:
            break
        rows[bad] = _draw(m, rng, table[bad]) if attempt < 3 else m.fallback[table[bad]]
    return rows


def generate_chunk(m: Model, chunk_idx: int, base_rows: int, visit_offset: int, line_offset: int) -> Chunk:
    """Exactly `base_rows` lines of whole visits (the last visit is cut short if needed)."""
    rng = np.random.default_rng([m.seed, 404, chunk_idx])
    n_est = int(base_rows / mean_lines() * 1.15) + 50
    v = _visits(m, rng, n_est)
    nl = _line_counts(rng, v["mt"])
    while int(nl.sum()) < base_rows:  # rare: draw more visits
        more = _visits(m, rng, n_est)
        v = {k: np.concatenate([v[k], more[k]]) for k in v}
        nl = np.concatenate([nl, _line_counts(rng, more["mt"])])
    cum = np.cumsum(nl)
    n_vis = int(np.searchsorted(cum, base_rows) + 1)
    v = {k: a[:n_vis] for k, a in v.items()}
    nl = nl[:n_vis].copy()
    nl[-1] -= int(cum[n_vis - 1] - base_rows)
    l_visit = np.repeat(np.arange(n_vis, dtype=np.int64), nl)

    def lines(a: np.ndarray) -> np.ndarray:
        return a[l_visit]

    mt, tp = lines(v["mt"]), lines(v["tp"])
    rows = _draw_items(m, rng, tp, lines(v["ip"]), mt, lines(v["cross"]), lines(v["sex"]), lines(v["age"]))
    ts = _times(m, rng, v["mt"], l_visit)
    cnt = np.ones(base_rows)
    unit = m.row_unit[rows]
    extra = rng.random(base_rows) < 0.15
    cnt = np.where(extra & (unit == 0), rng.integers(2, 5, base_rows), cnt)
    cnt = np.where(unit == 2, rng.integers(1, 25, base_rows), cnt)
    cnt = np.where((unit == 3) & extra, rng.integers(2, 4, base_rows), cnt).astype(np.float64)
    pric = m.row_price[rows]
    fee = np.round(pric * cnt, 2)
    report = m.row_report[rows] & (rng.random(base_rows) < m.report_rate[tp])
    return Chunk(
        visit_offset=visit_offset,
        line_offset=line_offset,
        v_ic=v["ic"],
        v_tc=v["tc"],
        v_ip=v["ip"],
        v_tp=v["tp"],
        v_mt=v["mt"],
        v_psn=v["psn"],
        v_sex=v["sex"],
        v_age=v["age"],
        v_hosp=v["hosp"],
        l_visit=l_visit,
        l_row=rows,
        l_ts=ts,
        l_cnt=cnt,
        l_pric=pric,
        l_fee=fee,
        l_report=report,
    )


def _times(m: Model, rng: np.random.Generator, mt: np.ndarray, l_visit: np.ndarray) -> np.ndarray:
    """Outpatient lines within hours of the visit; inpatient lines spread over the stay."""
    n = len(mt)
    los = np.where(mt == 2, np.clip(np.round(rng.lognormal(np.log(8.0), 0.6, n)), 1, 60), 0)
    los = np.minimum(los, m.n_days - 1).astype(np.int64)
    day = np.searchsorted(m.day_cdf, rng.random(n), side="right")
    day_ip = rng.integers(0, np.maximum(1, m.n_days - los))
    day = np.where(mt == 2, day_ip, np.minimum(day, m.n_days - 1))
    start = m.start_epoch + day * 86400 + rng.integers(7 * 3600 + 1800, 17 * 3600, n)
    k = len(l_visit)
    s = start[l_visit]
    span = los[l_visit] * 86400
    offset = np.where(span > 0, (rng.random(k) * span).astype(np.int64), rng.integers(0, 3 * 3600, k))
    end = m.start_epoch + m.n_days * 86400 - 1
    out: np.ndarray = np.minimum(s + offset, end)
    return out
