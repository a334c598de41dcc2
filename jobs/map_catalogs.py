"""Stage 2: map every provincial catalog item to a national code (catalog_mapping, review_queue)."""

from __future__ import annotations

from collections.abc import Sequence

from catalogbridge.config import MatchingConfig
from catalogbridge.contracts import CATALOGS
from catalogbridge.io import InputError, read_input
from catalogbridge.mapping import (
    catalog_conflicts,
    dedupe_catalog,
    library_from_table,
    map_catalog,
    review_queue,
    standardize_catalog,
)
from jobs.stage import StageContext, run_main
from udfs.matching import MatchParams


def match_params(cfg: MatchingConfig) -> MatchParams:
    return MatchParams(accept_score=cfg.accept_score, review_score=cfg.review_score,
                       tie_margin=cfg.tie_margin, code_name_min_score=cfg.code_name_min_score,
                       batch_size=cfg.batch_size)


def run(ctx: StageContext) -> None:
    spec = ctx.cfg.inputs.catalogs
    catalog = read_input(ctx.spark, spec, CATALOGS).transform(
        standardize_catalog, region_level=ctx.cfg.analysis.region_level).cache()
    conflicts = catalog.transform(catalog_conflicts).limit(5).collect()
    if conflicts:
        shown = "; ".join(f"{r['catalog_region']} {r['local_code']} as {'/'.join(r['levels'])}"
                          for r in conflicts)
        raise InputError(
            f"inputs.catalogs ({spec.path}): the same local item_code is listed more than once "
            f"with different chrgitm_lv ({shown}); keep one row per code and region")
    library = library_from_table(ctx.store.read("national_items"))
    mapping = catalog.transform(dedupe_catalog).transform(
        map_catalog, spark=ctx.spark, library=library,
        params=match_params(ctx.cfg.matching), run_id=ctx.run_id)
    ctx.store.write(mapping, "catalog_mapping")
    catalog.unpersist()
    ctx.store.write(ctx.store.read("catalog_mapping").transform(review_queue), "review_queue")


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, __doc__ or "", run)


if __name__ == "__main__":
    raise SystemExit(main())
