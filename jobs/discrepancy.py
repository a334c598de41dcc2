"""Stage 5: discrepant items per pair: covered where treated, not covered where insured."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import functions as F

from catalogbridge.analysis import discrepant_items, region_coverage
from catalogbridge.columns import catalog_of
from catalogbridge.mapping import catalog_region_list
from jobs.stage import StageContext, run_main


def run(ctx: StageContext) -> None:
    stats = ctx.store.read("item_stats")
    mapping = ctx.store.read("catalog_mapping")
    regions = (stats.select(F.col("insured_admdvs").alias("region"))
               .union(stats.select(F.col("treatment_admdvs").alias("region"))).distinct())
    lookup = regions.withColumn(
        "catalog_region", catalog_of(F.col("region"), catalog_region_list(mapping)))
    coverage = region_coverage(mapping, lookup)
    discrepant = stats.transform(
        discrepant_items, coverage=coverage, national=ctx.store.read("national_items"),
        class_offset=ctx.cfg.classification.class_offset)
    ctx.store.write(discrepant, "discrepant_items")


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, __doc__ or "", run)


if __name__ == "__main__":
    raise SystemExit(main())
