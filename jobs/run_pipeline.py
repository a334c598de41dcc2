"""Run every stage in order with one Spark session.

    python -m jobs.run_pipeline --conf conf/local.yaml [--set key=value ...]
    spark-submit jobs/run_pipeline.py --conf conf/cluster.yaml
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script by spark-submit: make `jobs` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jobs import (
    clean_settlements,
    discrepancy,
    ingest_national,
    item_stats,
    map_catalogs,
    quality_report,
    report,
    review_queue,
    scenarios,
)
from jobs.stage import StageContext, run_main

log = logging.getLogger("catalogbridge")

STAGES = (ingest_national, map_catalogs, clean_settlements, review_queue, item_stats,
          discrepancy, scenarios, report, quality_report)


def run(ctx: StageContext) -> None:
    log.info("run %s: writing %s tables to %s", ctx.run_id, ctx.store.format, ctx.cfg.output.path)
    for stage in STAGES:
        started = time.perf_counter()
        stage.run(ctx)
        log.info("stage %-18s %6.1f s", stage.__name__.split(".")[-1],
                 time.perf_counter() - started)


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, __doc__ or "", run)


if __name__ == "__main__":
    raise SystemExit(main())
