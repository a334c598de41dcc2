"""Benchmark catalog matching: pair reduction, recall, and Spark against plain Python.

    python scripts/bench_matching.py --data DIR [--generate] [--repeat 2] [--udf-rows N]

On the generator's national case (31 province catalogs, ~10,000 national items) it prints:
1. candidate generation with blocking + prefilter, prefilter only, and the whole library:
   queries searched, first-pass pairs, fine pairs, top-5 recall, precision, seconds;
2. side by side in one Spark session: the whole `map_catalogs` stage (read, validate, map,
   write), its matching step (library build + broadcast + mapInPandas), mapInPandas alone, the
   same core run directly in this process (rapidfuzz workers=-1, and workers=1), and a
   row-at-a-time Python UDF calling `process.extractOne` on the same items.
Timings are the best of `--repeat` interleaved rounds (the machine may be shared; the load
average is printed); these are figures to read, not assertions.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalogbridge.io.contracts import CATALOGS
from catalogbridge.io.readers import read_input
from catalogbridge.matching.catalog import (
    dedupe_catalog,
    library_from_table,
    load_qualifier_lists,
    load_synonyms,
    map_catalog,
    standardize_catalog,
)
from catalogbridge.names import NATIONAL_ITEMS
from catalogbridge.pipeline.config import load_config
from catalogbridge.pipeline.runner import Run, run_stage
from catalogbridge.pipeline.stages import STAGE_BY_NAME
from synth.evaluation import evaluate, scored_items
from udfs.candidates import PairStats
from udfs.matching import Execution, MatchParams, NationalLibrary, map_items


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def load(data: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    national = pd.read_csv(data / "national_items.csv", dtype=str)
    catalogs = pd.concat(pd.read_csv(f, dtype=str) for f in sorted(glob.glob(
        str(data / "catalogs" / "*.csv"))))
    truth = pd.read_csv(data / "ground_truth" / "catalog_truth.csv", dtype=str)
    truth = pd.DataFrame({"catalog_region": truth["admdvs"].str[:2] + "0000",
                          "local_code": truth["item_code"],
                          "true_code": truth["true_national_code"]})
    return national, catalogs, truth


def pair_reduction(library: NationalLibrary, catalogs: pd.DataFrame, truth: pd.DataFrame,
                   params: MatchParams, repeat: int) -> pd.DataFrame:
    unblocked = dataclasses.replace(params, blocking=False)
    modes = {
        "blocking + prefilter": (params, Execution()),
        "prefilter only": (unblocked, Execution()),
        "whole library": (unblocked, Execution(prefilter=False)),
    }
    rows = []
    for name, (mode, execution) in modes.items():
        stats = PairStats()

        def run(mode: MatchParams = mode, execution: Execution = execution,
                stats: PairStats = stats) -> pd.DataFrame:
            stats.__init__()  # type: ignore[misc]
            return map_items(catalogs["item_code"].tolist(), catalogs["item_name"].tolist(),
                             catalogs["national_code"].tolist(), library, mode, stats,
                             execution)

        seconds, result = best_of(repeat, run)
        result.insert(0, "catalog_region", (catalogs["admdvs"].str[:2] + "0000").to_numpy())
        result.insert(1, "local_code", catalogs["item_code"].to_numpy())
        items = scored_items(result, truth)
        overall = evaluate(items).iloc[-1]
        searched = items[items["method"].isin(["fuzzy_auto", "unmatched"])]
        rows.append({"mode": name, "items": len(items), "searched": stats.searched_queries,
                     "block_queries": stats.block_queries, "fallbacks": stats.fallback_queries,
                     "first_pass_pairs": stats.first_pass_pairs, "fine_pairs": stats.fine_pairs,
                     "top5_all": overall["top5"], "top5_fuzzy": searched["top5"].mean(),
                     "precision": overall["precision"], "review_rate": overall["review_rate"],
                     "seconds": round(seconds, 2)})
    table = pd.DataFrame(rows)
    table["pair_cut"] = table["first_pass_pairs"].iloc[-1] / table["first_pass_pairs"]
    return table


def extract_one_udf(catalog: Any, library: NationalLibrary) -> Any:
    """The row-at-a-time baseline: one Python call per item, extractOne over the library."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    keys, codes, key_of = library.keys.strict, library.codes, library.key_of

    def best_code(name: str | None) -> str | None:
        from rapidfuzz import fuzz, process

        found = process.extractOne(key_of(name or ""), keys, scorer=fuzz.ratio)
        return codes[found[2]] if found else None

    return catalog.withColumn("best_code", F.udf(best_code, StringType())("local_name"))


def spark_side_by_side(data: Path, conf: str, library_direct: NationalLibrary,
                       catalogs: pd.DataFrame, params: MatchParams, repeat: int,
                       udf_rows: int | None) -> dict[str, float]:
    """Rounds of (stage, matching step, mapInPandas only, direct -1, direct 1); best of each."""
    out = tempfile.mkdtemp(prefix="bench_matching_")
    cfg = load_config(conf, [f"inputs.national_items.path={data / 'national_items.csv'}",
                             f"inputs.catalogs.path={data / 'catalogs'}", f"output.path={out}",
                             "output.format=parquet", "run_id=bench"])
    run = Run.start(cfg)
    run_stage(run, STAGE_BY_NAME["ingest_national"])
    stage = STAGE_BY_NAME["map_catalogs"]
    run_stage(run, stage)  # warm-up: Python workers started, classes loaded
    spark = run.spark
    tasks = cfg.matching.partitions or spark.sparkContext.defaultParallelism
    catalog = read_input(spark, cfg.inputs.catalogs, CATALOGS).transform(
        standardize_catalog, region_level=cfg.analysis.region_level).transform(
        dedupe_catalog, partitions=tasks).cache()
    catalog.count()
    national = run.store.read(NATIONAL_ITEMS)
    normalizer = load_synonyms(cfg.matching.synonyms_path)
    qualifiers = load_qualifier_lists(cfg.matching.synonyms_path)
    prebuilt = library_from_table(national, normalizer, params, qualifiers)

    def noop(library: NationalLibrary, rows: Any = catalog) -> None:
        map_catalog(rows, spark=spark, library=library, params=params,
                    run_id="bench").write.format("noop").mode("overwrite").save()

    def direct(workers: int) -> None:
        library = NationalLibrary(library_direct.codes, library_direct.names, normalizer,
                                  qualifiers)
        map_items(catalogs["item_code"].tolist(), catalogs["item_name"].tolist(),
                  catalogs["national_code"].tolist(), library, params,
                  execution=Execution(workers=workers))

    runs: dict[str, Callable[[], Any]] = {
        "spark_stage": lambda: run_stage(run, stage),
        "spark_matching_step": lambda: noop(library_from_table(national, normalizer, params,
                                                               qualifiers)),
        "spark_mapinpandas_only": lambda: noop(prebuilt),
        "direct_workers_-1": lambda: direct(-1),
        "direct_workers_1": lambda: direct(1),
    }
    times = {name: float("inf") for name in runs}
    load = [os.getloadavg()[0]]
    for _ in range(repeat):
        for name, job in runs.items():
            times[name] = min(times[name], best_of(1, job)[0])
            if name == "spark_stage":  # the runner drops every cached table after a stage:
                catalog.cache().count()  # put the catalog back, untimed, for the runs that read it
    sample = catalog.limit(udf_rows).cache() if udf_rows else catalog
    times["udf_rows"] = sample.count()
    times["extract_one_udf"], _ = best_of(1, lambda: extract_one_udf(sample, prebuilt).write.format(
        "noop").mode("overwrite").save())
    times["spark_mapinpandas_same_rows"], _ = best_of(repeat, lambda: noop(prebuilt, sample))
    load.append(os.getloadavg()[0])
    times["load_average_start"], times["load_average_end"] = load
    run.store.discard()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--generate", action="store_true",
                        help="run the generator into --data first (--rows, --seed)")
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=20231)
    parser.add_argument("--conf", default="conf/local.yaml")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--udf-rows", type=int, help="rows for the extractOne UDF (default all)")
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.generate:
        subprocess.run([sys.executable, "-m", "synth", "--out", str(args.data),
                        "--rows", str(args.rows), "--seed", str(args.seed), "--quiet"], check=True)

    cfg = load_config(args.conf)
    params = cfg.matching
    national, catalogs, truth = load(args.data)
    normalizer = load_synonyms(cfg.matching.synonyms_path)
    qualifiers = load_qualifier_lists(cfg.matching.synonyms_path)
    build, library = best_of(1, lambda: NationalLibrary(
        national["item_code"].tolist(), national["item_name"].fillna("").tolist(), normalizer,
        qualifiers))
    print(f"# {len(catalogs)} catalog items in {catalogs['admdvs'].nunique()} regions, "
          f"{len(national)} national items; library built in {build:.2f} s")
    table = pair_reduction(library, catalogs, truth, params, args.repeat)
    with pd.option_context("display.width", 220, "display.max_columns", 20,
                           "display.float_format", "{:.5f}".format):
        print("\n## candidate generation (pure core, rapidfuzz workers=1)")
        print(table.to_string(index=False))
    report: dict[str, Any] = {"pairs": table.to_dict("records")}
    if not args.skip_spark:
        times = spark_side_by_side(args.data, args.conf, library, catalogs, params,
                                   args.repeat, args.udf_rows)
        print(f"\n## timings, seconds (best of {args.repeat})")
        for name, value in times.items():
            print(f"{name:28s} {value:10.2f}")
        direct = times["direct_workers_-1"]
        print(f"\nspark stage / direct (workers=-1)            {times['spark_stage'] / direct:.2f}")
        print(f"spark matching step / direct (workers=-1)    "
              f"{times['spark_matching_step'] / direct:.2f}")
        print(f"spark mapInPandas only / direct (workers=-1) "
              f"{times['spark_mapinpandas_only'] / direct:.2f}")
        print(f"extractOne UDF / spark mapInPandas ({int(times['udf_rows'])} rows) "
              f"{times['extract_one_udf'] / times['spark_mapinpandas_same_rows']:.2f}")
        report["times"] = times
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
