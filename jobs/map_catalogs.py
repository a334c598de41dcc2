"""Stage 2: map every provincial catalog item to a national code (catalog_mapping).

Reviewers' decisions (`matching.decisions_path`) are applied here on every run; the review
queue itself is written after cleaning, when the money at stake is known (jobs.review_queue).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from catalogbridge.config import MatchingConfig
from catalogbridge.contracts import CATALOGS
from catalogbridge.io import InputError, read_input
from catalogbridge.mapping import (
    catalog_conflicts,
    dedupe_catalog,
    library_from_table,
    map_catalog,
    standardize_catalog,
)
from catalogbridge.review import DecisionError, apply_decisions, read_decisions
from jobs.stage import StageContext, run_main
from udfs.matching import MatchParams
from udfs.normalize import Normalizer, load_normalizer

log = logging.getLogger("catalogbridge")


def match_params(cfg: MatchingConfig) -> MatchParams:
    return MatchParams(accept_score=cfg.accept_score, review_score=cfg.review_score,
                       tie_margin=cfg.tie_margin, code_name_min_score=cfg.code_name_min_score,
                       batch_size=cfg.batch_size, top_k=cfg.top_k, shortlist=cfg.shortlist,
                       prefilter_score=cfg.prefilter_score, block_min_score=cfg.block_min_score,
                       blocking=cfg.blocking)


def normalizer_for(cfg: MatchingConfig) -> Normalizer:
    if cfg.synonyms_path is None:
        return load_normalizer(None)
    if not Path(cfg.synonyms_path).is_file():
        raise InputError(f"matching.synonyms_path: no file at {cfg.synonyms_path!r} (relative "
                         "paths start at the working directory; null = no synonyms)")
    try:
        return load_normalizer(cfg.synonyms_path)
    except ValueError as exc:
        raise InputError(f"matching.synonyms_path: {exc}") from None


def run(ctx: StageContext) -> None:
    spec = ctx.cfg.inputs.catalogs
    cfg = ctx.cfg.matching
    catalog = read_input(ctx.spark, spec, CATALOGS).transform(
        standardize_catalog, region_level=ctx.cfg.analysis.region_level).cache()
    conflicts = catalog.transform(catalog_conflicts).limit(5).collect()
    if conflicts:
        shown = "; ".join(f"{r['catalog_region']} {r['local_code']} as {'/'.join(r['levels'])}"
                          for r in conflicts)
        raise InputError(
            f"inputs.catalogs ({spec.path}): the same local item_code is listed more than once "
            f"with different chrgitm_lv ({shown}); keep one row per code and region")
    national = ctx.store.read("national_items")
    params = match_params(cfg)
    library = library_from_table(national, normalizer_for(cfg), params)
    try:
        decisions = read_decisions(cfg.decisions_path, library.key_of) \
            if cfg.decisions_path else None
    except DecisionError as exc:
        raise InputError(str(exc)) from None
    if decisions is not None:
        log.info("applying %d reviewer decisions from %s", len(decisions), cfg.decisions_path)
    tasks = cfg.partitions or ctx.spark.sparkContext.defaultParallelism
    mapping = catalog.transform(dedupe_catalog, partitions=tasks).transform(
        map_catalog, spark=ctx.spark, library=library, params=params, run_id=ctx.run_id,
    ).transform(apply_decisions, decisions=decisions, national=national, spark=ctx.spark)
    ctx.store.write(mapping, "catalog_mapping")
    catalog.unpersist()


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, __doc__ or "", run)


if __name__ == "__main__":
    raise SystemExit(main())
