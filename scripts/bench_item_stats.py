"""Raw settlement files -> item statistics, by Spark (the pipeline's code) or by DuckDB.

    python scripts/bench_item_stats.py spark  --data DIR --tables OUT --out FILE \
        [--defaults spark|no-aqe] [--rank-all]
    python scripts/bench_item_stats.py duckdb --data DIR --tables OUT --out FILE [--threads 2]

Both read the generated settlement Parquet files and the `catalog_mapping` and
`national_items` tables of a pipeline run (OUT), apply the cleaning that decides which rows
count (the paper's rules, the scope checks, duplicate serial numbers, the analysis period,
the billing catalog's mapping) and write visits (distinct mdtrt_id), fees and lines per
insured province, treatment province and national code. One JSON line on stdout: seconds
from the first read to the written result, and the engine's settings. Used by
`scripts/bench_pipeline.py`; DuckDB is the single-node reference (`pip install .[bench]`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from catalogbridge.pipeline.config import PipelineConfig

# Only what changes semantics (time zone, parsing); no performance settings.
SEMANTIC_CONF = {
    "spark.sql.session.timeZone": "Asia/Shanghai",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    "spark.sql.legacy.javaCharsets": "true",
}


def plain_tagged_rows(settlements: DataFrame, *, mapping: DataFrame, national: DataFrame,
                      limits: DataFrame | None, cfg: PipelineConfig) -> DataFrame:
    """The plain plan: every row tagged, then every row ranked by serial number.

    The same rows as the clean stage's `tag_settlements`, which ranks only the rows whose
    serial repeats; here `rank_duplicates` runs over all rows (one shuffle of all rows).
    Kept here as the benchmark's baseline, not in the pipeline.
    """
    from catalogbridge.matching.catalog import catalog_region_list
    from catalogbridge.quality.rules import rule_severities
    from catalogbridge.transforms.cleaning import (
        duplicate_target,
        duplicate_ties,
        rank_duplicates,
        rule_checks,
        with_item_mapping,
        with_reasons,
        with_regions,
        with_supervision_limits,
    )

    analysis = cfg.analysis
    severities = rule_severities(cfg.quality.rules)
    target = duplicate_target(severities)
    assert target is not None
    rules = rule_checks(period_start=analysis.period.start, period_end=analysis.period.end,
                        med_types=analysis.med_types)
    return (
        settlements.transform(with_regions, region_level=analysis.region_level)
        .transform(with_item_mapping, catalogs=catalog_region_list(mapping), mapping=mapping,
                   national_codes=national)
        .transform(with_supervision_limits, limits=limits)
        .transform(with_reasons, rules=rules, severities=severities)
        .transform(rank_duplicates, target=target, ties=duplicate_ties(settlements))
    )


def spark_item_stats(data: Path, tables: Path, out: Path, *,
                     defaults: str | None, rank_all: bool) -> dict[str, object]:
    """The pipeline's own code: clean stage's tagging, clean rows, item_stats.

    `rank_all`: the plain plan, ranking every row by serial number instead of only the rows
    whose serial repeats (see `plain_tagged_rows`).
    """
    from bench_pipeline import BENCH_KEY, KEY_ENV

    from catalogbridge.io.session import DEFAULT_CONF
    from catalogbridge.names import CATALOG_MAPPING, NATIONAL_ITEMS, SETTLEMENT_ROWS
    from catalogbridge.pipeline.config import load_config
    from catalogbridge.pipeline.nodes import clean_settlements
    from catalogbridge.pipeline.runner import Run
    from catalogbridge.transforms.cleaning import clean_rows, settlement_rows
    from catalogbridge.transforms.statistics import item_stats

    os.environ.setdefault(KEY_ENV, BENCH_KEY)  # generated data: the benchmarks' own key
    cfg = load_config(ROOT / "conf" / "local.yaml", [
        f"inputs.settlements.path={data / 'settlements'}", f"output.path={tables}",
        "run_id=bench"])
    run = Run.start(cfg)
    if defaults:
        # Spark's own defaults (200 shuffle partitions, AQE as Spark ships it or off) in place
        # of the pipeline's settings; same cores and memory, same semantics.
        tuned = {**DEFAULT_CONF, **cfg.spark.conf}
        for key in tuned:
            if key not in SEMANTIC_CONF and run.spark.conf.isModifiable(key):
                run.spark.conf.unset(key)
        if defaults == "no-aqe":
            run.spark.conf.set("spark.sql.adaptive.enabled", "false")
    started = time.perf_counter()
    # What the clean stage reads (catalogbridge.pipeline.stages), read the same way.
    source = run.load("input:settlements")
    mapping, national = run.load(CATALOG_MAPPING), run.load(NATIONAL_ITEMS)
    limits = run.load("supervision_limits")
    if rank_all:
        rows = plain_tagged_rows(source.read(), mapping=mapping, national=national,
                                 limits=limits, cfg=cfg).transform(settlement_rows)
    else:
        rows = clean_settlements(source=source, stored=None, delivered=None, mapping=mapping,
                                 national=national, limits=limits, spark=run.spark,
                                 run_id="bench", analysis=cfg.analysis,
                                 quality=cfg.quality)[SETTLEMENT_ROWS].rows
    stats = rows.transform(clean_rows).transform(item_stats)
    stats.write.mode("overwrite").parquet(str(out))
    seconds = time.perf_counter() - started
    conf = run.spark.conf
    settings = {k: conf.get(k) for k in (
        "spark.sql.shuffle.partitions", "spark.sql.adaptive.enabled",
        "spark.sql.adaptive.advisoryPartitionSizeInBytes", "spark.master", "spark.driver.memory")}
    run.store.discard()
    return {"engine": "spark", "defaults": defaults, "rank_all": rank_all,
            "seconds": round(seconds, 1),
            "settings": settings}


# Text columns the statement reads; blank ones ('' or whitespace only) are null, as the
# pipeline's reader makes them (catalogbridge.io.readers.blank_to_null).
DUCKDB_TEXT = ("feedetl_sn", "setl_id", "mdtrt_id", "insuplc_admdvs", "mdtrtarea_admvs",
               "medins_list_codg", "medins_list_name", "med_list_codg")
DUCKDB_SQL = """
WITH s AS (
  SELECT {text}, det_item_fee_sumamt IS NULL AS fee_missing,
         TRY_CAST(det_item_fee_sumamt AS DECIMAL(18, 2)) AS fee,
         CAST(fee_ocur_time AS TIMESTAMP) AS t, filename
  FROM read_parquet('{settlements}/**/*.parquet', filename = true)
),
regions AS (SELECT DISTINCT catalog_region FROM read_parquet('{mapping}/*.parquet')),
mapping AS (SELECT catalog_region, local_code, national_code
            FROM read_parquet('{mapping}/*.parquet')),
national AS (SELECT national_code FROM read_parquet('{national}/*.parquet')),
located AS (
  SELECT s.*,
    CASE WHEN regexp_full_match(insuplc_admdvs, '[0-9]{{6}}')
         THEN substr(insuplc_admdvs, 1, 2) || '0000' END AS p,
    CASE WHEN regexp_full_match(mdtrtarea_admvs, '[0-9]{{6}}')
         THEN substr(mdtrtarea_admvs, 1, 2) || '0000' END AS tr
  FROM s
),
mapped AS (
  SELECT l.*, rt.catalog_region AS billing, rp.catalog_region AS insured_catalog,
         m.local_code IS NOT NULL AS in_catalog, m.national_code AS catalog_code,
         n.national_code IS NOT NULL AS row_code_known
  FROM located l
  LEFT JOIN regions rt ON rt.catalog_region = l.tr
  LEFT JOIN regions rp ON rp.catalog_region = l.p
  LEFT JOIN mapping m ON m.catalog_region = l.tr AND m.local_code = l.medins_list_codg
  LEFT JOIN national n ON n.national_code = l.med_list_codg
),
judged AS (
  SELECT *,
    coalesce(catalog_code, CASE WHEN row_code_known THEN med_list_codg END) AS national_code,
    (medins_list_codg IS NULL OR medins_list_name IS NULL OR fee_missing OR fee IS NULL
     OR fee <= 0 OR feedetl_sn IS NULL OR mdtrt_id IS NULL OR t IS NULL
     OR p IS NULL OR tr IS NULL OR billing IS NULL OR insured_catalog IS NULL
     OR (medins_list_codg IS NOT NULL AND NOT in_catalog AND NOT row_code_known)
     {period}) AS dropped
  FROM mapped
),
kept AS (
  SELECT *, row_number() OVER (
    PARTITION BY feedetl_sn
    ORDER BY dropped, t, medins_list_codg, fee, filename) AS copy
  FROM judged
)
SELECT p AS insured_admdvs, tr AS treatment_admdvs, national_code,
       count(DISTINCT mdtrt_id) AS visits, sum(fee) AS fee, count(*) AS lines
FROM kept
WHERE NOT dropped AND copy = 1 AND national_code IS NOT NULL
GROUP BY ALL
"""


def duckdb_item_stats(data: Path, tables: Path, out: Path, *, threads: int) -> dict[str, object]:
    """The same statistics in one SQL statement (province level, conf/local.yaml's period)."""
    import duckdb

    from catalogbridge.io.readers import WHITESPACE
    from catalogbridge.pipeline.config import load_config

    cfg = load_config(ROOT / "conf" / "local.yaml")
    assert cfg.analysis.region_level == "province" and not cfg.analysis.med_types
    period = cfg.analysis.period
    bounds = []
    if period.start:
        bounds.append(f"OR t < TIMESTAMP '{period.start}'")
    if period.end:
        bounds.append(f"OR t >= TIMESTAMP '{period.end}' + INTERVAL 1 DAY")
    text = ", ".join(f"CASE WHEN trim({c}, '{WHITESPACE}') = '' THEN NULL ELSE {c} END AS {c}"
                     for c in DUCKDB_TEXT)
    sql = DUCKDB_SQL.format(settlements=data / "settlements", mapping=tables / "catalog_mapping",
                            national=tables / "national_items", period=" ".join(bounds),
                            text=text)
    con = duckdb.connect(config={"threads": threads})
    started = time.perf_counter()
    con.execute(f"COPY ({sql}) TO '{out}' (FORMAT parquet)")
    seconds = time.perf_counter() - started
    return {"engine": "duckdb", "threads": threads, "version": duckdb.__version__,
            "seconds": round(seconds, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=("spark", "duckdb"))
    parser.add_argument("--data", type=Path, required=True, help="synth output directory")
    parser.add_argument("--tables", type=Path, required=True,
                        help="output.path of a pipeline run on the same data")
    parser.add_argument("--out", type=Path, required=True, help="item statistics (Parquet)")
    parser.add_argument("--defaults", choices=("spark", "no-aqe"),
                        help="Spark only: Spark's default settings instead of the tuned ones")
    parser.add_argument("--rank-all", action="store_true",
                        help="Spark only: rank every row by serial number (the plain plan)")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    args = parser.parse_args()
    if args.engine == "spark":
        result = spark_item_stats(args.data, args.tables, args.out, defaults=args.defaults,
                                  rank_all=args.rank_all)
    else:
        result = duckdb_item_stats(args.data, args.tables, args.out, threads=args.threads)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
