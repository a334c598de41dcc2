"""Stage 7: Excel-friendly CSV exports, one scheme chart per pair, and a run summary."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame

from catalogbridge.charts import ChartJob, find_cjk_font, render_scheme_charts
from catalogbridge.quality import clean_by_mapping_source, mapping_by_method
from jobs.stage import StageContext, run_main

log = logging.getLogger("catalogbridge")

EXPORTED_TABLES = ("discrepant_items", "scenario_results", "class_summary", "review_queue")
EXPORT_ORDER = {
    "discrepant_items": ["insured_admdvs", "treatment_admdvs", "visits_treatment"],
    "scenario_results": ["insured_admdvs", "treatment_admdvs", "scheme"],
    "class_summary": ["insured_admdvs", "treatment_admdvs", "grouping", "group_code"],
    "review_queue": ["queue_rank"],
}


def run(ctx: StageContext) -> None:
    store = ctx.store
    for name in EXPORTED_TABLES:
        table = store.read(name)
        order = EXPORT_ORDER.get(name)
        store.export_csv(table.orderBy(*order) if order else table, name)
    charts = write_charts(ctx) if ctx.cfg.output.charts else 0
    summary = run_summary(ctx, charts)
    target = store.exports_dir / "run_summary.json"
    target.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str),
                      encoding="utf-8")
    log.info("run summary: %s", json.dumps(summary["totals"], ensure_ascii=False))
    log.info("exports written to %s", store.exports_dir)


def write_charts(ctx: StageContext) -> int:
    """One PNG per pair with discrepant items in scope (an all-zero chart tells nothing).

    The scheme table is pair-sized (pairs x thresholds), so it is collected to the driver.
    """
    schemes = ctx.store.read("scenario_results").toPandas()
    font = find_cjk_font()
    charts_dir = ctx.store.exports_dir / "charts"
    charts_dir.mkdir(parents=True, exist_ok=True)
    jobs: list[ChartJob] = [
        (rows.sort_values("scheme"), str(insured), str(treatment), font,
         str(charts_dir / f"schemes_{insured}_{treatment}.png"))
        for (insured, treatment), rows in schemes.groupby(["insured_admdvs", "treatment_admdvs"])
        if rows["item_count"].max() > 0
    ]
    return render_scheme_charts(jobs, workers=os.cpu_count() or 1)


def _records(df: DataFrame) -> list[dict[str, Any]]:
    return [row.asDict() for row in df.collect()]


def run_summary(ctx: StageContext, charts: int) -> dict[str, Any]:
    store = ctx.store
    clean, quarantine = store.read("settlements_clean"), store.read("settlements_quarantine")
    totals = {
        "settlement_rows_clean": clean.count(),
        "settlement_rows_quarantined": quarantine.count(),
        "catalog_items": store.read("catalog_mapping").count(),
        "review_queue_items": store.read("review_queue").count(),
        "pairs": store.read("scenario_results").select(
            "insured_admdvs", "treatment_admdvs").distinct().count(),
        "discrepant_items": store.read("discrepant_items").count(),
        "charts": charts,
    }
    return {
        "run_id": ctx.run_id,
        "table_format": store.format,
        "totals": totals,
        "clean_by_mapping_source": _records(clean_by_mapping_source(clean)),
        "mapping_by_method": _records(mapping_by_method(store.read("catalog_mapping"))),
    }


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, __doc__ or "", run)


if __name__ == "__main__":
    raise SystemExit(main())
