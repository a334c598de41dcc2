"""Stage 3: map settlement rows through the billing region's catalog and clean them.

Writes `settlements_clean`, `settlements_quarantine` and `reconciliation`, and fails the
run unless, per input file and region, every input row and yuan landed in exactly one of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from catalogbridge.cleaning import (
    clean_rows,
    quarantined_rows,
    rule_checks,
    with_item_mapping,
    with_reasons,
    with_regions,
    with_supervision_limits,
)
from catalogbridge.contracts import SETTLEMENTS
from catalogbridge.io import load_supervision_limits, read_input
from catalogbridge.quality import check_reconciliation, reconciliation
from catalogbridge.rules import rule_severities
from jobs.stage import StageContext, run_main


def run(ctx: StageContext) -> None:
    cfg = ctx.cfg
    settlements = read_input(ctx.spark, cfg.inputs.settlements, SETTLEMENTS)
    mapping = ctx.store.read("catalog_mapping")
    rules = rule_checks(period_start=cfg.analysis.period.start,
                        period_end=cfg.analysis.period.end, med_types=cfg.analysis.med_types)
    tagged = (
        settlements.transform(with_regions, region_level=cfg.analysis.region_level)
        .transform(with_item_mapping, catalog_regions=mapping.select("catalog_region"),
                   mapping=mapping, national_codes=ctx.store.read("national_items"))
        .transform(with_supervision_limits, limits=load_supervision_limits(ctx.spark, cfg.quality))
        .transform(with_reasons, rules=rules, severities=rule_severities(cfg.quality.rules))
    )
    # Tag once (one shuffle, for duplicates), then cut both outputs from the staged rows.
    staged = ctx.store.write_scratch(tagged, "settlements_tagged")
    ctx.store.write(staged.transform(clean_rows), "settlements_clean")
    ctx.store.write(staged.transform(quarantined_rows), "settlements_quarantine")
    store = ctx.store
    recon = reconciliation(settlements, clean=store.read("settlements_clean"),
                           quarantine=store.read("settlements_quarantine"),
                           region_level=cfg.analysis.region_level)
    store.write(recon, "reconciliation")
    check_reconciliation(store.read("reconciliation"))


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, __doc__ or "", run)


if __name__ == "__main__":
    raise SystemExit(main())
