"""Stage 6: inclusion schemes by visit threshold (Table 4) and class summaries (Tables 2-3)."""

from __future__ import annotations

from collections.abc import Sequence

from catalogbridge.analysis import class_summary, province_pairs, scenario_results
from jobs.stage import StageContext, run_main


def run(ctx: StageContext) -> None:
    discrepant = ctx.store.read("discrepant_items")
    pairs = ctx.store.read("item_stats").transform(province_pairs)
    scheme_cfg = ctx.cfg.scenario
    ctx.store.write(
        discrepant.transform(scenario_results, pairs=pairs, spark=ctx.spark,
                             thresholds=scheme_cfg.thresholds, scope=scheme_cfg.scope),
        "scenario_results")
    ctx.store.write(discrepant.transform(class_summary), "class_summary")


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, __doc__ or "", run)


if __name__ == "__main__":
    raise SystemExit(main())
