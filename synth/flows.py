"""Optional columns of cross-region care analytics, and institutions whose billing surges.

Per visit: the filing type (异地备案类别) of visits outside the insured's own city, the person
type (在职 / 退休, from age), the hospital level (医院等级, from the hospital's index in its
city: low indices are the big hospitals), the fund-paid share of its fees and the stay
(begntime / endtime). Surges: in three hub provinces' capitals, the biggest hospital (index 0) takes
over a share of the other-province visits of the city's smaller hospitals from a surge month on.

Everything is drawn from RNG streams of its own (808, 809, 810), so every existing column
keeps its values; surges change only `v_hosp`, hence fixmedins_code, of the moved visits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth import regions as R
from synth.model import Model
from synth.settlements import Chunk

STREAM_SURGE_MOVE = 808  # [seed, 808, chunk]: which visits move to the surge hospital
STREAM_SURGE_PICK = 809  # [seed, 809]: which hub provinces surge
STREAM_ATTRIBUTES = 810  # [seed, 810, chunk]: filing type and fund share noise

# 异地备案类别 codes; UNKNOWN_FILING is not a valid code (exercises unknown handling).
FILING_CODES = ("1", "2", "3", "4", "5", "6")
UNKNOWN_FILING = "9"
FILING_DICT = (*FILING_CODES, UNKNOWN_FILING)  # index 6 = unknown
UNKNOWN_FILING_RATE = 0.002
# Weights of FILING_CODES for retirees and for everybody else.
FILING_RETIRED = np.array([0.45, 0.20, 0.0, 0.20, 0.10, 0.05])
FILING_WORKING = np.array([0.0, 0.15, 0.35, 0.30, 0.15, 0.05])
INPATIENT_REFERRAL = 2.0  # inpatient visits: weight of 4 (异地转诊) times this
SETTLED_GROWTH = 1.5  # weight of 1 (异地安置退休) in the last month relative to the first

RETIREMENT_AGE = 60
PSN_TYPES = ("在职", "退休")

# NHSA 医院等级 by the hospital's index in its city: [0, 3) 三级甲等, [3, 8) 三级乙等,
# [8, 30) 二级甲等, [30, 60) 二级乙等, then 一级甲等.
LEVEL_CODES = ("02", "03", "05", "06", "08")
LEVEL_BOUNDS = np.array([3, 8, 30, 60])
TOP_LEVELS = 2  # the first two LEVEL_CODES are 三级 hospitals

FUND_BASE = np.array([0.55, 0.65, 0.72])  # fund-paid share by med_type (11, 14, 21)
FUND_RETIRED = 0.08
FUND_OTHER_PROVINCE = -0.10
FUND_TOP_LEVEL = -0.05
FUND_NOISE = 0.02
FUND_RANGE = (0.1, 0.95)
STAY_START_HOUR = 8

N_SURGES = 3
SURGE_HOSPITAL = 0  # the capital's hub (三级甲等): busy enough to pass the alerts' minimum volume
SURGE_FROM = 5  # visits of hospitals with this index or higher may move
SURGE_SHARE = 0.3  # of the index >= 5 pool (~70 % of visits): the ~17 % hub more than doubles
SURGE_MONTH = 6  # the 7th month of the period, when it has at least 8 months


@dataclass(frozen=True)
class Surge:
    city: int  # treatment city index (a hub province's capital)
    hospital: int
    month: int  # month index within the period, from which visits move
    share: float  # share of the eligible visits moved


def period_months(m: Model) -> tuple[int, int]:
    """(first month as months since 1970-01, number of months) of the period."""
    first = _month(np.array([m.start_epoch]))[0]
    last = _month(np.array([m.start_epoch + m.n_days * 86400 - 1]))[0]
    return int(first), int(last - first + 1)


def _month(ts: np.ndarray) -> np.ndarray:
    out: np.ndarray = ts.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    return out


def month_label(month: int) -> str:
    """'YYYY-MM' of a month counted since 1970-01."""
    return str(np.datetime64(month, "M"))


def surge_month(n_months: int) -> int:
    return SURGE_MONTH if n_months >= SURGE_MONTH + 2 else n_months // 2


def pick_surges(m: Model) -> list[Surge]:
    """N_SURGES distinct hub provinces (from the seed), each its capital's SURGE_HOSPITAL."""
    rng = np.random.default_rng([m.seed, STREAM_SURGE_PICK])
    hubs = sorted(rng.choice(len(R.HUB_PROVINCES), size=N_SURGES, replace=False).tolist())
    month = surge_month(period_months(m)[1])
    out = []
    for h in hubs:
        p = R.PROVINCE_CODES.index(R.HUB_PROVINCES[h])
        out.append(Surge(city=int(m.capital[p]), hospital=SURGE_HOSPITAL, month=month, share=SURGE_SHARE))
    return out


def _visit_span(ch: Chunk) -> tuple[np.ndarray, np.ndarray]:
    """Earliest and latest line time of every visit (lines are grouped by visit and every
    visit has at least one)."""
    counts = np.bincount(ch.l_visit, minlength=len(ch.v_ip))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return np.minimum.reduceat(ch.l_ts, starts), np.maximum.reduceat(ch.l_ts, starts)


def visit_months(m: Model, ch: Chunk) -> np.ndarray:
    """Month index within the period of each visit's earliest line."""
    out: np.ndarray = _month(_visit_span(ch)[0]) - period_months(m)[0]
    return out


def apply_surges(m: Model, ch: Chunk, chunk_idx: int, surges: list[Surge]) -> int:
    """Move visits to the surge hospitals (changes ch.v_hosp in place); returns visits moved."""
    rng = np.random.default_rng([m.seed, STREAM_SURGE_MOVE, chunk_idx])
    u = rng.random(len(ch.v_ip))
    month = visit_months(m, ch)
    moved = 0
    for s in surges:
        sel = (
            (ch.v_tc == s.city)
            & (ch.v_ip != ch.v_tp)
            & (ch.v_hosp >= SURGE_FROM)
            & (month >= s.month)
            & (u < s.share)
        )
        ch.v_hosp[sel] = s.hospital
        moved += int(sel.sum())
    return moved


def hospital_level(hosp: np.ndarray) -> np.ndarray:
    """Index into LEVEL_CODES of each hospital index."""
    out: np.ndarray = np.searchsorted(LEVEL_BOUNDS, hosp, side="right").astype(np.int8)
    return out


@dataclass
class FlowAttrs:
    """Per visit (v_*) and per base line (l_*) values of the new columns."""

    v_filing: np.ndarray  # index into FILING_DICT, -1 null (visit in the insured's city)
    v_psn_type: np.ndarray  # index into PSN_TYPES
    v_level: np.ndarray  # index into LEVEL_CODES
    v_share: np.ndarray  # fund-paid share
    v_begin: np.ndarray  # stay start, seconds since epoch (naive local time)
    v_end: np.ndarray
    v_month: np.ndarray  # month index within the period of the earliest line
    l_fund: np.ndarray  # fund_pay_sumamt per base line


def _filing(
    rng: np.random.Generator, retired: np.ndarray, mt: np.ndarray, month: np.ndarray, n_months: int
) -> np.ndarray:
    w = np.where(retired[:, None], FILING_RETIRED[None, :], FILING_WORKING[None, :])
    w[mt == 2, 3] *= INPATIENT_REFERRAL
    frac = month / max(1, n_months - 1)
    w[:, 0] *= 1.0 + (SETTLED_GROWTH - 1.0) * frac
    cdf = np.cumsum(w, axis=1)
    u = rng.random(len(mt)) * cdf[:, -1]
    code = np.minimum((cdf <= u[:, None]).sum(axis=1), len(FILING_CODES) - 1)
    unknown = rng.random(len(mt)) < UNKNOWN_FILING_RATE
    out: np.ndarray = np.where(unknown, len(FILING_CODES), code).astype(np.int8)
    return out


def visit_attributes(m: Model, ch: Chunk, chunk_idx: int) -> FlowAttrs:
    """The new columns' values (after apply_surges, as the level follows v_hosp)."""
    rng = np.random.default_rng([m.seed, STREAM_ATTRIBUTES, chunk_idx])
    n = len(ch.v_ip)
    first, last = _visit_span(ch)
    month = _month(first) - period_months(m)[0]
    retired = ch.v_age >= RETIREMENT_AGE
    filing = _filing(rng, retired, ch.v_mt, month, period_months(m)[1])
    filing = np.where(ch.v_tc == ch.v_ic, -1, filing).astype(np.int8)
    level = hospital_level(ch.v_hosp)
    share = (
        FUND_BASE[ch.v_mt]
        + FUND_RETIRED * retired
        + FUND_OTHER_PROVINCE * (ch.v_ip != ch.v_tp)
        + FUND_TOP_LEVEL * (level < TOP_LEVELS)
        + rng.normal(0.0, FUND_NOISE, n)
    )
    share = np.clip(share, *FUND_RANGE)
    fee = ch.l_fee
    fund = np.round(fee * share[ch.l_visit], 2)
    fund = np.where(fee > 0, np.maximum(fund, 0.01), fund)
    day8 = first // 86400 * 86400 + STAY_START_HOUR * 3600
    return FlowAttrs(
        v_filing=filing,
        v_psn_type=retired.astype(np.int8),
        v_level=level,
        v_share=share,
        v_begin=np.minimum(day8, first),
        v_end=last,
        v_month=month,
        l_fund=fund,
    )
