"""Deliberate defects, one per dirty row, at exact counts the manifest records.

Kinds mirror the paper's cleaning rules (missing code/name, fee 0 or negative, duplicates)
plus what real extracts also contain: dates outside the period, unknown or malformed region
codes and item codes absent from the billing province's catalog.

A missing text value (item code, item name, a region code) is what real exports carry: null,
an empty string or whitespace only, drawn per row from a stream of its own so the forms
never move any other value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synth.settlements import Chunk

KINDS = (
    "missing_item_code",
    "missing_item_name",
    "zero_fee",
    "negative_fee",
    "duplicate_feedetl_sn",
    "out_of_period",
    "unknown_region",
    "malformed_region",
    "item_not_in_catalog",
)
# Relative weight of each kind within --dirty-rate.
DEFAULT_WEIGHTS = {
    "missing_item_code": 0.12,
    "missing_item_name": 0.10,
    "zero_fee": 0.14,
    "negative_fee": 0.16,
    "duplicate_feedetl_sn": 0.16,
    "out_of_period": 0.08,
    "unknown_region": 0.08,
    "malformed_region": 0.08,
    "item_not_in_catalog": 0.08,
}
CLEAN = 0
KIND_ID = {k: i + 1 for i, k in enumerate(KINDS)}
UNKNOWN_CODES = ("990000", "990100", "000000", "710000", "810000")
N_SELF_DEFINED = 500
# Forms of a missing text value: null, then the blank strings ('' and whitespace only).
MISSING_FORMS = ("null", "empty", "spaces", "ideographic_space")
BLANKS = ("", "  ", "\u3000")  # the strings of MISSING_FORMS[1:]
FORM_WEIGHTS = (0.4, 0.2, 0.2, 0.2)
# Kinds whose dirty rows (some of them, for malformed_region) carry a missing text value.
TEXT_KINDS = ("missing_item_code", "missing_item_name", "malformed_region")


@dataclass
class Dictionaries:
    """String dictionaries the writer indexes into (codes and names, region codes)."""

    codes: np.ndarray  # catalog local codes, then hospital self-defined codes, then BLANKS
    names: np.ndarray  # the same layout as codes
    reported: np.ndarray  # catalog national_code column (None when empty)
    regions: np.ndarray  # city codes, unknown codes, malformed variants, then BLANKS
    n_cities: int
    unknown_start: int
    malformed_start: int  # per city 3 variants, then 'NULL'
    blank_item: int  # index of BLANKS[0] in codes and names
    blank_region: int  # index of BLANKS[0] in regions
    foreign: list[np.ndarray]  # per treatment province: dictionary indices not in its catalog


def build_dictionaries(
    items: pd.DataFrame, start: np.ndarray, size: np.ndarray, cities: tuple[str, ...], seed: int
) -> Dictionaries:
    rng = np.random.default_rng([seed, 505])
    codes = items["item_code"].to_numpy(dtype=object)
    names = items["item_name"].to_numpy(dtype=object)
    self_codes = np.array([f"ZDY{i:06d}" for i in range(N_SELF_DEFINED)], dtype=object)
    self_names = np.array([f"院内自定义项目{i:04d}" for i in range(N_SELF_DEFINED)], dtype=object)
    n_rows = len(codes)
    foreign: list[np.ndarray] = []
    for p in range(len(start)):
        own = set(codes[start[p] : start[p] + size[p]].tolist())
        cand = rng.integers(0, n_rows, 600)
        cand = cand[(cand < start[p]) | (cand >= start[p] + size[p])]
        cand = np.array([c for c in cand if codes[c] not in own][:300], dtype=np.int64)
        extra = n_rows + rng.integers(0, N_SELF_DEFINED, 100)
        foreign.append(np.concatenate([cand, extra]))
    malformed: list[str] = []
    for c in cities:
        malformed += [c[:2] + "A" + c[3:], c[:4], c[:3] + "O" + c[4:]]
    malformed += ["NULL"]
    reported = items["national_code"].to_numpy(dtype=object)
    reported = np.array([None if x == "" else x for x in reported], dtype=object)
    blanks = np.array(BLANKS, dtype=object)
    regions = list(cities) + list(UNKNOWN_CODES) + malformed
    return Dictionaries(
        codes=np.concatenate([codes, self_codes, blanks]),
        names=np.concatenate([names, self_names, blanks]),
        reported=np.concatenate([reported, np.full(N_SELF_DEFINED, None, dtype=object)]),
        regions=np.array(regions + list(BLANKS), dtype=object),
        n_cities=len(cities),
        unknown_start=len(cities),
        malformed_start=len(cities) + len(UNKNOWN_CODES),
        blank_item=n_rows + N_SELF_DEFINED,
        blank_region=len(regions),
        foreign=foreign,
    )


def split_counts(total: int, sizes: list[int]) -> list[int]:
    """Largest-remainder split of `total` proportional to `sizes`."""
    s = float(sum(sizes))
    raw = [total * x / s for x in sizes]
    out = [int(np.floor(r)) for r in raw]
    rest = total - sum(out)
    for i in sorted(range(len(sizes)), key=lambda i: (-(raw[i] - out[i]), i))[:rest]:
        out[i] += 1
    return out


@dataclass
class Rows:
    """Final line arrays of a chunk after defects (indices into `Dictionaries`)."""

    take: np.ndarray  # base line index of each output row (duplicates repeat one)
    kind: np.ndarray  # defect kind per base line, 0 clean
    code: np.ndarray  # dictionary index, -1 null
    name: np.ndarray
    reported: np.ndarray  # dictionary index into `reported`, -1 null
    ins_region: np.ndarray  # index into `regions`, -1 null
    trt_region: np.ndarray
    fee: np.ndarray
    cnt: np.ndarray
    ts: np.ndarray
    forms: dict[str, np.ndarray]  # per TEXT_KINDS: rows missing the text, by MISSING_FORMS


def _missing(n: int, blank_start: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Dictionary indices for n missing text values (-1 null, else a blank) and form counts."""
    form = rng.choice(len(MISSING_FORMS), size=n, p=FORM_WEIGHTS)
    idx = np.where(form == 0, -1, blank_start + form - 1)
    return idx, np.bincount(form, minlength=len(MISSING_FORMS))


def apply_defects(
    ch: Chunk,
    counts: dict[str, int],
    d: Dictionaries,
    period_start: int,
    period_end: int,
    rng: np.random.Generator,
    blank_rng: np.random.Generator,
) -> Rows:
    """Defects at exact counts per kind; `blank_rng` draws only the forms of missing text."""
    n = len(ch.l_row)
    total = sum(counts.values())
    if total > n // 2:
        raise ValueError("dirty rates too high for the chunk size")
    picked = rng.choice(n, size=total, replace=False) if total else np.zeros(0, np.int64)
    kind = np.zeros(n, dtype=np.int8)
    pos = 0
    for k in KINDS:
        kind[picked[pos : pos + counts[k]]] = KIND_ID[k]
        pos += counts[k]
    code = ch.l_row.copy()
    name = ch.l_row.copy()
    reported = np.where(ch.l_report, ch.l_row, -1)
    ins = ch.v_ic[ch.l_visit].copy()
    trt = ch.v_tc[ch.l_visit].copy()
    fee, cnt, ts = ch.l_fee.copy(), ch.l_cnt.copy(), ch.l_ts.copy()

    def rows_of(k: str) -> np.ndarray:
        out: np.ndarray = np.flatnonzero(kind == KIND_ID[k])
        return out

    forms: dict[str, np.ndarray] = {}
    r = rows_of("missing_item_code")
    code[r], forms["missing_item_code"] = _missing(len(r), d.blank_item, blank_rng)
    reported[r] = -1
    r = rows_of("missing_item_name")
    name[r], forms["missing_item_name"] = _missing(len(r), d.blank_item, blank_rng)
    fee[rows_of("zero_fee")] = 0.0
    r = rows_of("negative_fee")
    fee[r] = -fee[r]
    cnt[r] = -cnt[r]
    r = rows_of("out_of_period")
    before = rng.random(len(r)) < 0.45
    sentinel = rng.random(len(r)) < 0.1
    shift = rng.integers(1, 60 * 86400, len(r))
    ts[r] = np.where(before, period_start - shift, period_end + 1 + shift)
    ts[r[sentinel]] = -2208988800  # 1900-01-01 00:00:00, a common system default
    for kname, base in (("unknown_region", d.unknown_start), ("malformed_region", -1)):
        r = rows_of(kname)
        on_ins = rng.random(len(r)) < 0.5
        if base >= 0:
            val = base + rng.integers(0, len(UNKNOWN_CODES), len(r))
        else:
            city = np.where(on_ins, ins[r], trt[r])
            j = rng.integers(0, 4, len(r))
            other = rng.integers(0, 2, len(r))  # 0: the code is missing, 1: 'NULL'
            val = np.where(
                j < 3,
                d.malformed_start + city * 3 + np.minimum(j, 2),
                d.malformed_start + 3 * d.n_cities,
            )
            gone = np.flatnonzero((j == 3) & (other == 0))
            val[gone], forms[kname] = _missing(len(gone), d.blank_region, blank_rng)
        ins[r] = np.where(on_ins, val, ins[r])
        trt[r] = np.where(on_ins, trt[r], val)
    r = rows_of("item_not_in_catalog")
    tp = ch.v_tp[ch.l_visit[r]]
    for p in np.unique(tp):
        sel = r[tp == p]
        pool = d.foreign[int(p)]
        code[sel] = pool[rng.integers(0, len(pool), len(sel))]
    name[r] = code[r]
    reported[r] = -1
    dup = rows_of("duplicate_feedetl_sn")
    kind_out = kind.copy()
    kind_out[dup] = CLEAN  # the original stays clean; its copy is the dirty row
    reps = np.ones(n, dtype=np.int64)
    reps[dup] = 2
    take = np.repeat(np.arange(n, dtype=np.int64), reps)
    return Rows(
        take=take,
        kind=kind_out,
        code=code,
        name=name,
        reported=reported,
        ins_region=ins,
        trt_region=trt,
        fee=fee,
        cnt=cnt,
        ts=ts,
        forms=forms,
    )
