"""Orchestration: library -> catalogs -> settlement parts (streamed) -> ground truth -> manifest.

Chunks are whole visits of a fixed number of rows, each with its own RNG stream, so the
output is byte-identical for the same arguments and memory is bounded by one chunk in
generation plus one being written.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from synth import calibration as C
from synth import regions as R
from synth.catalogs import CATALOG_COLUMNS, Catalogs, build_catalogs, kind_counts
from synth.dirty import (
    DEFAULT_WEIGHTS,
    KIND_ID,
    KINDS,
    MISSING_FORMS,
    TEXT_KINDS,
    Rows,
    apply_defects,
    build_dictionaries,
    split_counts,
)
from synth.flow_truth import FlowTruth, institutions_frame, surges_frame
from synth.flows import FlowAttrs, apply_surges, period_months, pick_surges, visit_attributes
from synth.library import NATIONAL_COLUMNS, build_library
from synth.model import MED_TYPES, build_model
from synth.settlements import Chunk, generate_chunk, mean_lines
from synth.truth import (
    DEFAULT_PAIRS,
    StatsAccumulator,
    catalog_truth,
    parse_pairs,
    write_stats,
)
from synth.writer import ArrowDicts, build_table, write_frame_csv, write_part

# Parts are built and written by background threads (Arrow and Parquet release the GIL)
# while the main thread generates the next chunk.
WRITERS = 2


@dataclass
class Config:
    out: Path
    rows: int = 200_000
    seed: int = 20231
    items: int = 10_000
    start: dt.date = dt.date(2023, 1, 1)
    end: dt.date = dt.date(2023, 12, 31)
    settlement_format: str = "parquet"
    encoding: str = "utf-8"
    dirty_rate: float = 0.02
    dirty: dict[str, float] = field(default_factory=dict)  # absolute per-kind overrides
    seed_library: Path | None = None
    truth_pairs: str = "auto"
    all_pairs_max_rows: int = 2_000_000
    part_rows: int = 1_000_000

    def rates(self) -> dict[str, float]:
        return {k: self.dirty.get(k, self.dirty_rate * DEFAULT_WEIGHTS[k]) for k in KINDS}


def _epoch(d: dt.date) -> int:
    return int((d - dt.date(1970, 1, 1)).total_seconds())


class _Stats:
    """Realised flow and fee figures reported in the manifest next to the targets."""

    def __init__(self) -> None:
        self.visits = np.zeros((3, 2), dtype=np.int64)  # med_type x (home, cross)
        self.fee = np.zeros((3, 2))

    def add(self, ch: Chunk) -> None:
        cross = (ch.v_ip != ch.v_tp).astype(np.int64)
        np.add.at(self.visits, (ch.v_mt, cross), 1)
        vfee = np.bincount(ch.l_visit, weights=ch.l_fee, minlength=len(ch.v_ip))
        np.add.at(self.fee, (ch.v_mt, cross), vfee)

    def summary(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for i, m in enumerate(MED_TYPES):
            v = self.visits[i]
            tot = int(v.sum())
            out[m] = {
                "visits": tot,
                "cross_province_share": round(float(v[1] / tot), 4) if tot else None,
                "mean_fee_home": round(float(self.fee[i, 0] / v[0]), 2) if v[0] else None,
                "mean_fee_cross": round(float(self.fee[i, 1] / v[1]), 2) if v[1] else None,
            }
        tot = int(self.visits.sum())
        out["all"] = {
            "visits": tot,
            "cross_province_share": round(float(self.visits[:, 1].sum() / tot), 4) if tot else None,
        }
        return out


def generate(cfg: Config, log: bool = True) -> dict[str, object]:
    t0 = time.perf_counter()
    if cfg.rows < 1 or cfg.end < cfg.start:
        raise ValueError("need rows >= 1 and end >= start")
    out = cfg.out
    for sub in ("catalogs", "settlements", "ground_truth"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
        (out / sub).mkdir(parents=True)

    lib = build_library(cfg.items, cfg.seed, cfg.seed_library)
    write_frame_csv(lib[NATIONAL_COLUMNS], out / "national_items.csv")
    cats = build_catalogs(lib, cfg.seed)
    for p, prov in enumerate(R.PROVINCES):
        lo, hi = int(cats.start[p]), int(cats.start[p] + cats.size[p])
        write_frame_csv(
            cats.items.iloc[lo:hi][CATALOG_COLUMNS], out / "catalogs" / f"{prov.code}.csv", cfg.encoding
        )
    write_frame_csv(catalog_truth(cats), out / "ground_truth" / "catalog_truth.csv")
    t_static = time.perf_counter() - t0

    n_days = (cfg.end - cfg.start).days + 1
    p_start, p_end = _epoch(cfg.start), _epoch(cfg.end) + 86400 - 1
    parts = [cfg.part_rows] * (cfg.rows // cfg.part_rows)
    if cfg.rows % cfg.part_rows:
        parts.append(cfg.rows % cfg.part_rows)
    totals = {k: round(cfg.rows * r) for k, r in cfg.rates().items()}
    per_part = {k: split_counts(v, parts) for k, v in totals.items()}
    model = build_model(
        lib,
        cats,
        cfg.seed,
        np.datetime64(cfg.start.isoformat()),
        n_days,
        est_visits=int(cfg.rows / mean_lines()),
    )
    dicts = build_dictionaries(cats.items, cats.start, cats.size, model.cities.codes, cfg.seed)
    adicts = ArrowDicts(dicts, model.cities.codes)
    mode, mask = parse_pairs(cfg.truth_pairs, cfg.rows, cfg.all_pairs_max_rows)
    acc = StatsAccumulator(len(lib), mask)
    surges = pick_surges(model)
    write_frame_csv(institutions_frame(model, adicts), out / "institutions.csv")
    surge_df = surges_frame(model, adicts, surges, period_months(model)[0])
    write_frame_csv(surge_df, out / "ground_truth" / "surges.csv")
    flow_acc = FlowTruth(model, adicts) if cfg.rows <= cfg.all_pairs_max_rows else None
    moved = 0
    stats = _Stats()
    ext = "parquet" if cfg.settlement_format == "parquet" else "csv"
    part_files: list[dict[str, object]] = []
    visit_off = line_off = 0
    clean_rows = 0
    forms = {k: np.zeros(len(MISSING_FORMS), dtype=np.int64) for k in TEXT_KINDS}
    pending: list[Future[None]] = []

    def write(ch: Chunk, rows: Rows, fa: FlowAttrs, path: Path) -> None:
        table = build_table(ch, rows, adicts, fa)
        write_part(table, path, cfg.settlement_format, cfg.encoding)

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        for c, n_rows in enumerate(parts):
            counts = {k: per_part[k][c] for k in KINDS}
            base = n_rows - counts["duplicate_feedetl_sn"]
            ch = generate_chunk(model, c, base, visit_off, line_off)
            moved += apply_surges(model, ch, c, surges)  # only v_hosp of the moved visits
            fa = visit_attributes(model, ch, c)
            rng = np.random.default_rng([cfg.seed, 606, c])
            blank_rng = np.random.default_rng([cfg.seed, 707, c])
            rows = apply_defects(ch, counts, dicts, p_start, p_end, rng, blank_rng)
            for k in TEXT_KINDS:
                forms[k] += rows.forms[k]
            acc.add(ch, rows, model)
            if flow_acc is not None:
                flow_acc.add(ch, rows, fa)
            stats.add(ch)
            clean_rows += int((rows.kind == 0).sum())
            name = f"part-{c:05d}.{ext}"
            while len(pending) >= WRITERS:  # bound memory: at most WRITERS parts in flight
                pending.pop(0).result()
            pending.append(pool.submit(write, ch, rows, fa, out / "settlements" / name))
            part_files.append({"file": f"settlements/{name}", "rows": n_rows, "visits": len(ch.v_ip)})
            visit_off += len(ch.v_ip)
            line_off += base
            if log:
                print(f"part {c + 1}/{len(parts)}: {n_rows} rows", flush=True)
        for f in pending:
            f.result()
    lib_codes = lib["item_code"].to_numpy(dtype=object)
    truth = acc.frame(lib_codes)
    write_stats(truth, out / "ground_truth" / "expected_item_stats.csv")
    if flow_acc is not None:
        write_frame_csv(flow_acc.visits_frame(), out / "ground_truth" / "flow_visits.csv")
        write_frame_csv(flow_acc.items_frame(lib_codes), out / "ground_truth" / "flow_items.csv")
    flows = {
        "flow_truth_written": flow_acc is not None,
        "surges": surge_df.to_dict("records"),
        "surge_visits_moved": moved,
        "notes": "filing_type null for visits in the insured's own city, '9' an unknown code; "
        "a visit's month (flow truth) is that of its earliest clean line; flow_visits.csv "
        "and flow_items.csv are written when rows <= all_pairs_max_rows",
    }
    elapsed = time.perf_counter() - t0
    manifest = _manifest(
        cfg,
        lib,
        cats,
        totals,
        forms,
        parts,
        part_files,
        visit_off,
        clean_rows,
        mode,
        mask,
        truth,
        stats,
        flows,
        elapsed,
        t_static,
    )
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return manifest


def _manifest(
    cfg: Config,
    lib: pd.DataFrame,
    cats: Catalogs,
    totals: dict[str, int],
    forms: dict[str, np.ndarray],
    parts: list[int],
    part_files: list[dict[str, object]],
    visits: int,
    clean_rows: int,
    mode: str,
    mask: np.ndarray,
    truth: pd.DataFrame,
    stats: _Stats,
    flows: dict[str, object],
    elapsed: float,
    t_static: float,
) -> dict[str, object]:
    args = {k: (str(v) if isinstance(v, (Path, dt.date)) else v) for k, v in asdict(cfg).items()}
    sizes, levels = {}, {}
    for p, prov in enumerate(R.PROVINCES):
        lv = cats.items["level"].to_numpy()[cats.start[p] : cats.start[p] + cats.size[p]]
        sizes[prov.code] = int(cats.size[p])
        levels[prov.code] = {f"0{k}": int((lv == k).sum()) for k in (1, 2, 3)}
    codes = R.PROVINCE_CODES
    pairs = [f"{codes[i]}:{codes[j]}" for i, j in zip(*np.nonzero(mask), strict=True)]
    level = np.zeros((R.N_PROV, len(lib)), dtype=np.int8)
    level[cats.items["prov"].to_numpy(), cats.items["lib"].to_numpy()] = cats.items["level"]
    covered = (level == 1) | (level == 2)
    discrepant = {}
    for pair in DEFAULT_PAIRS:
        p, t = (codes.index(x) for x in pair.split(":"))
        discrepant[pair] = int((covered[t] & ~covered[p]).sum())
    return {
        # The dataset's producer label, kept from when the generator lived in the product
        # package so manifests stay comparable; the import path is now `synth`.
        "generator": "catalogbridge.synth",
        "seed": cfg.seed,
        "args": args,
        "period": {
            "start": cfg.start.isoformat(),
            "end": cfg.end.isoformat(),
            "timestamps": "naive local (Beijing) wall-clock time",
        },
        "rows": {
            "total": cfg.rows,
            "clean": clean_rows,
            "dirty": int(sum(totals.values())),
            "visits": visits,
            "parts": len(parts),
        },
        "dirty_rows": totals,
        "dirty_blank_rows": {k: int(v[1:].sum()) for k, v in forms.items()},
        "dirty_missing_forms": {
            k: {f: int(n) for f, n in zip(MISSING_FORMS, v, strict=True)} for k, v in forms.items()
        },
        "dirty_rates": cfg.rates(),
        "dirty_notes": {
            "duplicate_feedetl_sn": "an exact copy of a clean row, placed right after it; "
            "the original counts as clean",
            "missing_item_code": "medins_list_codg missing, med_list_codg null",
            "missing text": "a missing code, name or region code is null, '' or whitespace "
            "only ('  ' or U+3000); dirty_blank_rows counts the rows of each kind whose value "
            "is blank rather than null, dirty_missing_forms every form (malformed_region: the "
            "rows whose code is missing; the others carry a malformed code); dirty_rows "
            "counts all rows of a kind, null and blank alike",
            "item_not_in_catalog": "code (and name) from another province's catalog or a "
            "hospital self-defined ZDY code; med_list_codg null",
            "unknown_region/malformed_region": "exactly one of insuplc_admdvs / mdtrtarea_admvs is affected",
        },
        "dirty_kind_ids": KIND_ID,
        "files": {
            "national_items": "national_items.csv",
            "catalogs": "catalogs/<admdvs>.csv",
            "settlements": part_files,
            "catalog_truth": "ground_truth/catalog_truth.csv",
            "expected_item_stats": "ground_truth/expected_item_stats.csv",
            "institutions": "institutions.csv",
            "surges": "ground_truth/surges.csv",
            "flow_visits": "ground_truth/flow_visits.csv" if flows["flow_truth_written"] else None,
            "flow_items": "ground_truth/flow_items.csv" if flows["flow_truth_written"] else None,
        },
        "library": {
            "items": len(lib),
            "kinds": kind_counts(lib),
            "classes": {k: int(v) for k, v in lib["class2"].value_counts().sort_index().items()},
            "seeded_items": int(lib["seeded"].sum()),
        },
        "catalogs": {
            "sizes": sizes,
            "levels": levels,
            "profiles": {R.PROVINCE_CODES[i]: p.as_dict() for i, p in enumerate(cats.profiles)},
        },
        "truth": {
            "pairs_mode": mode,
            "pairs": pairs,
            "stats_rows": len(truth),
            "discrepant_items": discrepant,
            "discrepant_definition": "national items covered (01/02) in the treatment "
            "province but 03 or not listed in the insured province (default pairs)",
            "semantics": "clean rows only; visits = distinct mdtrt_id; fee = sum of "
            "det_item_fee_sumamt (2 dp); province = first 2 digits + 0000",
        },
        "realised": stats.summary(),
        "flows": flows,
        "calibration": {
            "cross_share_target": C.CROSS_SHARE,
            "cross_sampling": C.CROSS_SAMPLING,
            "cross_sampling_note": "cross-province visits are sampled this many times as often "
            "as home visits, so realised cross shares are about target x factor",
            "integration": {h: list(m) for h, m in R.INTEGRATION.items()},
            "visit_mix": C.VISIT_MIX,
            "fee_per_visit_target": C.TARGET_FEE_PER_VISIT,
            "sources": [
                "国家医疗保障局《2023年全国医疗保障事业发展统计公报》",
                "国家卫生健康委《2023年我国卫生健康事业发展统计公报》",
            ],
        },
        "timing": {
            "seconds": round(elapsed, 2),
            "static_seconds": round(t_static, 2),
            "rows_per_second": round(cfg.rows / elapsed, 1),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "pyarrow": pa.__version__,
        },
    }
