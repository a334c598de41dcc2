"""Ground truth: every local item's true national code and the expected per-pair statistics.

Expected stats are accumulated chunk by chunk over clean rows only (the original of each
duplicated row counts once). Visits never span chunks, so distinct visits per chunk add up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synth import regions as R
from synth.catalogs import Catalogs
from synth.dirty import CLEAN, Rows
from synth.model import Model
from synth.settlements import Chunk

TRUTH_COLUMNS = ["insured_admdvs", "treatment_admdvs", "national_code", "visits", "fee"]
DEFAULT_PAIRS = (
    "330000:310000",
    "320000:310000",
    "340000:310000",
    "130000:110000",
    "450000:440000",
    "540000:510000",
    "620000:610000",
)


def parse_pairs(spec: str, rows: int, all_pairs_max_rows: int) -> tuple[str, np.ndarray]:
    """'auto' | 'all' | 'P:T,P:T' -> (mode, bool matrix [insured, treatment]).

    Each listed pair (P, T) adds (P, T) and (P, P): the paper compares a discrepant item's use
    by P's patients in T with its use at home.
    """
    codes = list(R.PROVINCE_CODES)
    mask = np.zeros((R.N_PROV, R.N_PROV), dtype=bool)
    mode = spec
    if spec == "auto":
        mode = "all" if rows <= all_pairs_max_rows else "listed"
        spec = "all" if mode == "all" else ",".join(DEFAULT_PAIRS)
    if spec == "all":
        mask[:] = True
        return "all", mask
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        p, _, t = part.partition(":")
        if p not in codes or t not in codes:
            raise ValueError(f"unknown province pair {part!r}; use 6-digit province codes")
        mask[codes.index(p), codes.index(t)] = True
        mask[codes.index(p), codes.index(p)] = True
    return "listed" if mode != "all" else mode, mask


class StatsAccumulator:
    """(insured province, treatment province, national item) -> distinct visits, fee cents."""

    def __init__(self, n_lib: int, mask: np.ndarray) -> None:
        self.n_lib = n_lib
        self.ok = mask.ravel()
        self.keys: list[np.ndarray] = []
        self.visits: list[np.ndarray] = []
        self.cents: list[np.ndarray] = []

    def add(self, ch: Chunk, rows: Rows, m: Model) -> None:
        clean = rows.kind == CLEAN
        lv = ch.l_visit[clean]
        pair = ch.v_ip[lv] * R.N_PROV + ch.v_tp[lv]
        keep = self.ok[pair]
        lv, pair = lv[keep], pair[keep]
        lib = m.row_lib[ch.l_row[clean][keep]]
        cents = np.round(ch.l_fee[clean][keep] * 100.0)
        key = pair * self.n_lib + lib
        n_vis = len(ch.v_ip)
        if len(key) == 0:
            return
        # One sort by (key, visit): runs of equal key give the fee sum, changes of
        # (key, visit) within a run count distinct visits.
        combined = key * n_vis + lv
        order = np.argsort(combined, kind="stable")
        cs = combined[order]
        ks = cs // n_vis
        starts = np.flatnonzero(np.concatenate([[True], ks[1:] != ks[:-1]]))
        new_visit = np.concatenate([[True], cs[1:] != cs[:-1]]).astype(np.int64)
        k_f = ks[starts]
        visits = np.add.reduceat(new_visit, starts)
        fee = np.add.reduceat(cents[order], starts)
        self.keys.append(k_f)
        self.visits.append(visits)
        self.cents.append(fee)
        if len(self.keys) >= 8:
            self._reduce()

    def _reduce(self) -> None:
        if len(self.keys) <= 1:
            return
        keys = np.concatenate(self.keys)
        uk, inv = np.unique(keys, return_inverse=True)
        self.keys = [uk]
        self.visits = [
            np.bincount(inv, weights=np.concatenate(self.visits), minlength=len(uk)).astype(np.int64)
        ]
        self.cents = [np.bincount(inv, weights=np.concatenate(self.cents), minlength=len(uk))]

    def frame(self, lib_codes: np.ndarray) -> pd.DataFrame:
        self._reduce()
        if not self.keys:
            return pd.DataFrame(columns=TRUTH_COLUMNS)
        key, visits, cents = self.keys[0], self.visits[0], self.cents[0]
        pair, lib = key // self.n_lib, key % self.n_lib
        codes = np.array(R.PROVINCE_CODES, dtype=object)
        df = pd.DataFrame(
            {
                "insured_admdvs": codes[pair // R.N_PROV],
                "treatment_admdvs": codes[pair % R.N_PROV],
                "national_code": lib_codes[lib],
                "visits": visits,
                "fee": np.round(cents) / 100.0,
            }
        )
        return df.sort_values(
            ["insured_admdvs", "treatment_admdvs", "national_code"], kind="stable"
        ).reset_index(drop=True)


def write_stats(df: pd.DataFrame, path: Path) -> None:
    out = df.copy()
    out["fee"] = out["fee"].map(lambda x: f"{x:.2f}")
    out.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def catalog_truth(cats: Catalogs) -> pd.DataFrame:
    it = cats.items
    return pd.DataFrame(
        {
            "admdvs": it["admdvs"],
            "item_code": it["item_code"],
            "item_name": it["item_name"],
            "true_national_code": it["true_code"],
        }
    )
