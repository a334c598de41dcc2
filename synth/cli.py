"""Command line: ``python -m synth --out DIR [options]``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from synth.dirty import DEFAULT_WEIGHTS, KINDS
from synth.generate import Config, generate
from synth.truth import DEFAULT_PAIRS


def _date(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def _dirty(s: str) -> tuple[str, float]:
    kind, _, rate = s.partition("=")
    if kind not in KINDS:
        raise argparse.ArgumentTypeError(f"unknown dirty kind {kind!r}; one of {', '.join(KINDS)}")
    try:
        value = float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad rate in {s!r}") from None
    if not 0.0 <= value < 0.5:
        raise argparse.ArgumentTypeError("a dirty rate must be in [0, 0.5)")
    return kind, value


def parser() -> argparse.ArgumentParser:
    weights = ", ".join(f"{k} {v * 100:.0f}%%" for k, v in DEFAULT_WEIGHTS.items())
    p = argparse.ArgumentParser(
        prog="python -m synth",
        description="Generate a synthetic national dataset (NHSA library, 31 province "
        "catalogs, settlement fee-detail rows) with ground truth for CatalogBridge.",
        epilog="Output: OUT/national_items.csv, OUT/catalogs/<admdvs>.csv, "
        "OUT/settlements/part-NNNNN.(parquet|csv), OUT/ground_truth/catalog_truth.csv, "
        "OUT/ground_truth/expected_item_stats.csv, OUT/institutions.csv, "
        "OUT/ground_truth/surges.csv, OUT/ground_truth/flow_visits.csv and "
        "OUT/ground_truth/flow_items.csv (only when --rows <= --all-pairs-max-rows), "
        "OUT/manifest.json. "
        "Same arguments give byte-identical data files.",
    )
    p.add_argument("--out", type=Path, required=True, help="output directory (created)")
    p.add_argument(
        "--rows", type=int, default=200_000, help="settlement rows, dirty rows included (default 200000)"
    )
    p.add_argument("--seed", type=int, default=20231, help="random seed (default 20231)")
    p.add_argument(
        "--items", type=int, default=10_000, help="national library size (default 10000, max about 10600)"
    )
    p.add_argument("--year", type=int, default=2023, help="period = this calendar year (default 2023)")
    p.add_argument("--start", type=_date, help="period start YYYY-MM-DD (overrides --year)")
    p.add_argument("--end", type=_date, help="period end YYYY-MM-DD, inclusive")
    p.add_argument("--settlement-format", choices=("parquet", "csv"), default="parquet")
    p.add_argument(
        "--encoding",
        choices=("utf-8", "gb18030"),
        default="utf-8",
        help="encoding of catalog CSVs and settlement CSVs (default utf-8)",
    )
    p.add_argument(
        "--dirty-rate",
        type=float,
        default=0.02,
        help=f"overall share of dirty rows (default 0.02), split as: {weights}",
    )
    p.add_argument(
        "--dirty",
        type=_dirty,
        action="append",
        default=[],
        metavar="KIND=RATE",
        help="absolute rate for one kind, overriding its share of --dirty-rate; repeatable",
    )
    p.add_argument(
        "--seed-library",
        type=Path,
        help="optional real TSV/CSV (code, name, ...) whose valid 15-digit codes "
        "and names seed the national library",
    )
    p.add_argument(
        "--truth-pairs",
        default="auto",
        help="'auto' (all pairs when rows <= --all-pairs-max-rows, else the default "
        "list), 'all', or comma-separated insured:treatment province pairs; "
        "each pair P:T also adds P:P. Default list: " + ",".join(DEFAULT_PAIRS),
    )
    p.add_argument(
        "--all-pairs-max-rows",
        type=int,
        default=2_000_000,
        help="row limit for 'auto' to compute all pairs (default 2000000)",
    )
    p.add_argument(
        "--part-rows",
        type=int,
        default=1_000_000,
        help="rows per settlement part file / generation chunk (default 1000000)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def config_from_args(argv: list[str] | None = None) -> tuple[Config, bool]:
    a = parser().parse_args(argv)
    start = a.start or dt.date(a.year, 1, 1)
    end = a.end or (dt.date(a.year, 12, 31) if a.start is None else dt.date(start.year, 12, 31))
    if a.rows < 1 or not 100 <= a.part_rows <= 5_000_000:
        raise SystemExit("--rows must be >= 1 and --part-rows within 100..5000000")
    if a.items < 60:
        raise SystemExit("--items must be >= 60 (every class needs a few items)")
    return Config(
        out=a.out,
        rows=a.rows,
        seed=a.seed,
        items=a.items,
        start=start,
        end=end,
        settlement_format=a.settlement_format,
        encoding=a.encoding,
        dirty_rate=a.dirty_rate,
        dirty=dict(a.dirty),
        seed_library=a.seed_library,
        truth_pairs=a.truth_pairs,
        all_pairs_max_rows=a.all_pairs_max_rows,
        part_rows=a.part_rows,
    ), a.quiet


def main(argv: list[str] | None = None) -> int:
    cfg, quiet = config_from_args(argv)
    try:
        m = generate(cfg, log=not quiet)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    timing = m["timing"]
    assert isinstance(timing, dict)
    print(f"wrote {cfg.rows} rows to {cfg.out} in {timing['seconds']} s ({timing['rows_per_second']} rows/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
