"""Evaluate catalog matching against ground truth (`make eval-matching`).

    python scripts/eval_matching.py --data DIR [--engine local|spark] [--conf conf/local.yaml]
                                    [--real ../shared/data/nhsa/national_items_sample.tsv]

DIR is the synthetic generator's output (`python -m synth --out DIR`): its
national library, catalogs, settlements (for fee weights) and ground_truth/catalog_truth.csv.
`--engine local` runs the matcher's core in this process (the code the Spark UDF runs);
`--engine spark` runs the ingest and mapping stages and reads `catalog_mapping`.
`--real` also matches local-style spellings and the recorded alternative names of the real
NHSA sample (skipped when the file is absent).
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from learning_replay import replay
from real_lists import load_sets, match_set, metrics, mistakes, restrict_to_library, score

from catalogbridge.matching.catalog import load_qualifier_lists, load_synonyms
from catalogbridge.names import CATALOG_MAPPING
from catalogbridge.pipeline.config import PipelineConfig, load_config
from synth.evaluation import (
    evaluate,
    local_variants,
    scored_items,
    settlement_fees,
    threshold_table,
)
from udfs.candidates import PairStats
from udfs.matching import NationalLibrary, map_items

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "nhsa" / "national_items_sample.tsv"
PRICE_LISTS = Path(__file__).resolve().parents[1] / "data" / "price_lists"
REPLAY_SHARES = (0.5, 1.0)  # the part of a review queue its reviewers decide in the replay
THRESHOLDS = (70, 75, 80, 85, 88, 90, 92, 95, 98, 100)


def read_truth(data: Path) -> pd.DataFrame:
    truth = pd.read_csv(data / "ground_truth" / "catalog_truth.csv", dtype=str)
    return pd.DataFrame({"catalog_region": truth["admdvs"].str[:2] + "0000",
                         "local_code": truth["item_code"],
                         "true_code": truth["true_national_code"]})


def read_fees(data: Path) -> pd.DataFrame | None:
    parts = sorted(glob.glob(str(data / "settlements" / "*.parquet")))
    columns = ["mdtrtarea_admvs", "medins_list_codg", "det_item_fee_sumamt"]
    if parts:
        return settlement_fees(pd.concat(pd.read_parquet(p, columns=columns) for p in parts))
    csvs = sorted(glob.glob(str(data / "settlements" / "*.csv")))
    if csvs:
        return settlement_fees(pd.concat(pd.read_csv(p, usecols=columns, dtype=str) for p in csvs))
    return None


def build_library(codes: list[str], names: list[str], cfg: PipelineConfig) -> NationalLibrary:
    """The library as the mapping stage builds it: synonyms and qualifier lists from conf."""
    path = cfg.matching.synonyms_path
    return NationalLibrary(codes, names, load_synonyms(path), load_qualifier_lists(path))


def map_local(data: Path, cfg: PipelineConfig) -> tuple[pd.DataFrame, PairStats]:
    """The matcher's core on the generator's files (what each Spark task runs)."""
    national = pd.read_csv(data / "national_items.csv", dtype=str)
    catalogs = pd.concat(pd.read_csv(f, dtype=str) for f in sorted(glob.glob(
        str(data / "catalogs" / "*.csv"))))
    library = build_library(national["item_code"].tolist(),
                            national["item_name"].fillna("").tolist(), cfg)
    stats = PairStats()
    result = map_items(catalogs["item_code"].tolist(), catalogs["item_name"].tolist(),
                       catalogs["national_code"].tolist(), library, cfg.matching, stats)
    result.insert(0, "catalog_region", (catalogs["admdvs"].str[:2] + "0000").to_numpy())
    result.insert(1, "local_code", catalogs["item_code"].to_numpy())
    return result, stats


def map_spark(data: Path, conf: str, overrides: list[str]) -> pd.DataFrame:
    """Run the ingest and mapping stages (Spark) and read their catalog_mapping."""
    from catalogbridge.pipeline.runner import Run, run_stages

    out = tempfile.mkdtemp(prefix="eval_matching_")
    cfg = load_config(conf, [*overrides, f"inputs.national_items.path={data / 'national_items.csv'}",
                             f"inputs.catalogs.path={data / 'catalogs'}", f"output.path={out}",
                             "output.format=parquet"])
    run = Run.start(cfg)
    run_stages(run, ["ingest_national", "map_catalogs"])
    return run.store.read(CATALOG_MAPPING).toPandas()


def real_name_sets(path: Path) -> dict[str, pd.DataFrame]:
    """Queries (name, true code) built from the real NHSA sample."""
    sample = pd.read_csv(path, sep="\t", dtype=str).fillna("")
    alt = sample.assign(alt=sample["alt_names"].str.split("|")).explode("alt")
    alt = alt[alt["alt"].str.strip() != ""]
    return {
        "national_names": pd.DataFrame({"name": sample["name"], "true_code": sample["nhsa_code"]}),
        "local_variants": pd.DataFrame({"name": local_variants(sample["name"].tolist(), seed=1),
                                        "true_code": sample["nhsa_code"]}),
        "alt_names": pd.DataFrame({"name": alt["alt"].to_numpy(),
                                   "true_code": alt["nhsa_code"].to_numpy()}),
    }


def evaluate_real(path: Path, cfg: PipelineConfig) -> pd.DataFrame:
    sample = pd.read_csv(path, sep="\t", dtype=str).fillna("")
    library = build_library(sample["nhsa_code"].tolist(), sample["name"].tolist(), cfg)
    frames = []
    for name, queries in real_name_sets(path).items():
        result = map_items([None] * len(queries), queries["name"].tolist(),
                           [None] * len(queries), library, cfg.matching)
        result["catalog_region"] = name
        result["local_code"] = [f"q{i}" for i in range(len(queries))]
        truth = pd.DataFrame({"catalog_region": name, "local_code": result["local_code"],
                              "true_code": queries["true_code"].to_numpy()})
        frames.append(scored_items(result, truth))
    return evaluate(pd.concat(frames, ignore_index=True), by="catalog_region")


@dataclass(frozen=True)
class PriceListFigures:
    figures: pd.DataFrame  # per list and mode (names only, with codes), plus overall
    mistakes: pd.DataFrame  # wrong automatic matches
    names_only: dict[str, pd.DataFrame]  # the scored names-only matches per list


def evaluate_price_lists(lists_dir: Path, sample: Path, cfg: PipelineConfig) -> PriceListFigures:
    table = pd.read_csv(sample, sep="\t", dtype=str).fillna("")
    library = build_library(table["nhsa_code"].tolist(), table["name"].tolist(), cfg)
    rows, wrong, scored = [], [], {}
    for name, items in load_sets(lists_dir).items():
        items = restrict_to_library(items, library)
        for mode, with_codes in (("names", False), ("codes", True)):
            result = score(match_set(items, library, cfg.matching, with_codes))
            scored.setdefault(mode, {})[name] = result
            rows.append({"set": name, "mode": mode, **metrics(result)})
            wrong.append(mistakes(result, library).assign(set=name, mode=mode))
    for mode, parts in scored.items():
        rows.append({"set": "overall", "mode": mode, **metrics(pd.concat(parts.values()))})
    return PriceListFigures(pd.DataFrame(rows),
                            pd.concat(wrong, ignore_index=True) if wrong else pd.DataFrame(),
                            scored.get("names", {}))


def replay_learning(names_only: dict[str, pd.DataFrame], sample: Path) -> pd.DataFrame:
    """Each list's reviewers teaching each other list (`learning_replay`), in a local session."""
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("learning-replay")
             .config("spark.ui.enabled", "false").getOrCreate())
    table = pd.read_csv(sample, sep="\t", dtype=str).fillna("")
    national = spark.createDataFrame(pd.DataFrame(
        {"national_code": table["nhsa_code"], "national_name": table["name"]}))
    try:
        return pd.DataFrame([replay(spark, names_only, national, teacher, learner, share)
                             for share in REPLAY_SHARES for teacher in names_only
                             for learner in names_only if teacher != learner])
    finally:
        spark.stop()


def _show(title: str, table: pd.DataFrame) -> None:
    print(f"\n## {title}")
    with pd.option_context("display.width", 200, "display.max_columns", 30,
                           "display.max_rows", 200, "display.float_format", "{:.4f}".format):
        print(table.to_string(index=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="synthetic generator output")
    parser.add_argument("--engine", choices=("local", "spark"), default="local")
    parser.add_argument("--conf", default="conf/local.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="config override, e.g. matching.accept_score=95")
    parser.add_argument("--real", type=Path, default=REAL, help="real NHSA sample (TSV)")
    parser.add_argument("--price-lists", type=Path, default=PRICE_LISTS,
                        help="real price lists built by scripts/price_lists/build.py")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)

    cfg = load_config(args.conf, args.overrides)
    started = time.perf_counter()
    if args.engine == "spark":
        mapping, stats = map_spark(args.data, args.conf, args.overrides), None
    else:
        mapping, stats = map_local(args.data, cfg)
    seconds = time.perf_counter() - started
    items = scored_items(mapping, read_truth(args.data), read_fees(args.data))
    report = {"engine": args.engine, "seconds": round(seconds, 1),
              "accept_score": cfg.matching.accept_score, "review_score": cfg.matching.review_score}
    print(f"# catalog matching on {args.data} ({args.engine}, {seconds:.1f} s, "
          f"accept {cfg.matching.accept_score}, review {cfg.matching.review_score})")
    per_region = evaluate(items)
    _show("per region and overall", per_region)
    methods = items.groupby(["method", "review_status"]).agg(
        items=("is_auto", "size"), correct=("is_correct", "sum")).reset_index()
    _show("by method", methods)
    thresholds = threshold_table(items, THRESHOLDS)
    _show("best fuzzy candidate: precision at each score threshold", thresholds)
    report |= {"overall": per_region.iloc[-1].to_dict(), "regions": per_region.to_dict("records"),
               "thresholds": thresholds.to_dict("records")}
    if stats is not None:
        print(f"\npairs: {stats}")
        report["pairs"] = stats.__dict__
    if args.real.is_file():
        real = evaluate_real(args.real, cfg)
        _show(f"real NHSA names ({args.real.name})", real.drop(
            columns=[c for c in real.columns if c.startswith("fee")]))
        report["real"] = real.to_dict("records")
    else:
        print(f"\n(real NHSA sample not found at {args.real}; skipped)")
    if args.real.is_file() and args.price_lists.is_dir():
        lists = evaluate_price_lists(args.price_lists, args.real, cfg)
        _show(f"real price lists ({args.price_lists}; family level unless _code)", lists.figures)
        _show("real price lists: wrong automatic matches", lists.mistakes)
        learning = replay_learning(lists.names_only, args.real)
        _show("real price lists: one list's review decisions teaching the others (names only)",
              learning)
        report["price_lists"] = lists.figures.to_dict("records")
        report["learning_replay"] = learning.to_dict("records")
    else:
        print(f"\n(real price lists not found at {args.price_lists}; build them with "
              "scripts/price_lists/build.py; skipped)")
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str),
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
