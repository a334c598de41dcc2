"""Ground truth of the cross-region care columns: per-visit flows, per-item flows of
other-province visits, the institution table and the planted surges.

Like `synth.truth`, only clean base lines count (the original of a duplicated row once), and
the strings are built the way the writer builds them, so the files match the settlement
rows exactly. A visit's month is that of its earliest clean line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from synth import regions as R
from synth.dirty import CLEAN, Rows
from synth.flows import FILING_DICT, LEVEL_CODES, PSN_TYPES, FlowAttrs, Surge, hospital_level, month_label
from synth.model import MED_TYPES, Model
from synth.settlements import Chunk
from synth.writer import ArrowDicts, fixmedins_codes, mdtrt_ids, psn_nos

VISIT_COLUMNS = ["psn_no", "mdtrt_id", "insuplc_admdvs", "mdtrtarea_admvs", "med_type", "fixmedins_code",
                 "hosp_lv", "filing_type", "psn_type", "month", "lines", "fee_cents", "fund_cents"]
ITEM_COLUMNS = ["fixmedins_code", "insured_admdvs", "month", "national_code", "lines", "fee_cents"]
INSTITUTION_COLUMNS = ["fixmedins_code", "fixmedins_name", "admdvs", "hosp_lv"]
SURGE_COLUMNS = ["fixmedins_code", "admdvs", "surge_month", "share_moved"]
_ITEM_KEYS = ["tc", "hosp", "ip", "month", "lib"]


def _strings(a: pa.Array) -> np.ndarray:
    out: np.ndarray = a.to_numpy(zero_copy_only=False)
    return out


def _month_labels(months: np.ndarray) -> np.ndarray:
    labels = {int(x): month_label(int(x)) for x in np.unique(months)}
    return np.array([labels[int(x)] for x in months], dtype=object)


class FlowTruth:
    """Accumulates flow_visits (one row per visit with a clean line) and flow_items."""

    def __init__(self, m: Model, ad: ArrowDicts) -> None:
        self.m, self.ad = m, ad
        self.city_codes = np.array(m.cities.codes, dtype=object)
        self.visits: list[pd.DataFrame] = []
        self.items: list[pd.DataFrame] = []

    def add(self, ch: Chunk, rows: Rows, fa: FlowAttrs) -> None:
        clean = np.flatnonzero(rows.kind == CLEAN)
        if len(clean) == 0:
            return
        lv = ch.l_visit[clean]  # non-decreasing: lines are grouped by visit
        fee = np.round(rows.fee[clean] * 100.0).astype(np.int64)
        fund = np.round(fa.l_fund[clean] * 100.0).astype(np.int64)
        starts = np.flatnonzero(np.concatenate([[True], lv[1:] != lv[:-1]]))
        v = lv[starts]
        n_lines = np.diff(np.concatenate([starts, [len(lv)]]))
        first = np.minimum.reduceat(rows.ts[clean], starts)  # the earliest clean line
        v_month = first.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
        filing = fa.v_filing[v].astype(np.int64)  # -1 (null) takes the trailing ""
        filing_txt = np.array([*FILING_DICT, ""], dtype=object)[filing]
        tc, hosp = ch.v_tc[v], ch.v_hosp[v]
        self.visits.append(
            pd.DataFrame(
                {
                    "psn_no": _strings(psn_nos(self.ad, ch.v_ic[v], ch.v_psn[v])),
                    "mdtrt_id": _strings(mdtrt_ids(self.ad, tc, ch.visit_offset + v)),
                    "insuplc_admdvs": self.city_codes[ch.v_ic[v]],
                    "mdtrtarea_admvs": self.city_codes[tc],
                    "med_type": np.array(MED_TYPES, dtype=object)[ch.v_mt[v]],
                    "fixmedins_code": _strings(fixmedins_codes(self.ad, tc, hosp)),
                    "hosp_lv": np.array(LEVEL_CODES, dtype=object)[fa.v_level[v]],
                    "filing_type": filing_txt,
                    "psn_type": np.array(PSN_TYPES, dtype=object)[fa.v_psn_type[v]],
                    "month": _month_labels(v_month),
                    "lines": n_lines,
                    "fee_cents": np.add.reduceat(fee, starts),
                    "fund_cents": np.add.reduceat(fund, starts),
                }
            )
        )
        # Items of other-province visits, keyed by the visit's month.
        line_month = np.repeat(v_month, n_lines)
        away = ch.v_ip[lv] != ch.v_tp[lv]
        if not away.any():
            return
        lva = lv[away]
        df = pd.DataFrame(
            {
                "tc": ch.v_tc[lva],
                "hosp": ch.v_hosp[lva],
                "ip": ch.v_ip[lva],
                "month": line_month[away],
                "lib": self.m.row_lib[ch.l_row[clean[away]]],
                "lines": np.ones(len(lva), dtype=np.int64),
                "fee_cents": fee[away],
            }
        )
        self.items.append(df.groupby(_ITEM_KEYS, sort=False, as_index=False).sum())

    def visits_frame(self) -> pd.DataFrame:
        if not self.visits:
            return pd.DataFrame(columns=VISIT_COLUMNS)
        return pd.concat(self.visits, ignore_index=True)[VISIT_COLUMNS]

    def items_frame(self, lib_codes: np.ndarray) -> pd.DataFrame:
        if not self.items:
            return pd.DataFrame(columns=ITEM_COLUMNS)
        g = pd.concat(self.items, ignore_index=True).groupby(_ITEM_KEYS, as_index=False).sum()
        out = pd.DataFrame(
            {
                "fixmedins_code": _strings(
                    fixmedins_codes(self.ad, g["tc"].to_numpy(), g["hosp"].to_numpy())
                ),
                "insured_admdvs": np.array(R.PROVINCE_CODES, dtype=object)[g["ip"].to_numpy()],
                "month": _month_labels(g["month"].to_numpy()),
                "national_code": lib_codes[g["lib"].to_numpy()],
                "lines": g["lines"].to_numpy(np.int64),
                "fee_cents": g["fee_cents"].to_numpy(np.int64),
            }
        )
        return out.sort_values(ITEM_COLUMNS[:4], kind="stable").reset_index(drop=True)


def city_names() -> list[str]:
    return [name for p in R.PROVINCES for _code, name, _w in p.cities]


def institutions_frame(m: Model, ad: ArrowDicts) -> pd.DataFrame:
    """Every hospital of every city, with the fixmedins_code settlement rows carry."""
    n = m.hospitals.astype(np.int64)
    city = np.repeat(np.arange(len(n)), n)
    hosp = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    names = np.array(city_names(), dtype=object)[city]
    return pd.DataFrame(
        {
            "fixmedins_code": _strings(fixmedins_codes(ad, city, hosp)),
            "fixmedins_name": [f"{c}第{i + 1}医院" for c, i in zip(names, hosp.tolist(), strict=True)],
            "admdvs": np.array(m.cities.codes, dtype=object)[city],
            "hosp_lv": np.array(LEVEL_CODES, dtype=object)[hospital_level(hosp)],
        }
    )


def surges_frame(m: Model, ad: ArrowDicts, surges: list[Surge], first_month: int) -> pd.DataFrame:
    city = np.array([s.city for s in surges], dtype=np.int64)
    hosp = np.array([s.hospital for s in surges], dtype=np.int64)
    return pd.DataFrame(
        {
            "fixmedins_code": _strings(fixmedins_codes(ad, city, hosp)) if surges else [],
            "admdvs": [m.cities.codes[s.city] for s in surges],
            "surge_month": [month_label(first_month + s.month) for s in surges],
            "share_moved": [s.share for s in surges],
        },
        columns=SURGE_COLUMNS,
    )
