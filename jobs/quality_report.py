"""Data-quality report of a run: JSON and Markdown, compared with the previous run.

Written to `<exports>/quality_report.{json,md}`; each run's JSON is also kept under
`<exports>/quality_history/` so the next run can show what moved.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from catalogbridge.quality import (
    mapping_coverage,
    reasons_by_region,
    render_markdown,
    share_changes,
    supervision_flags_by_item,
)
from jobs.stage import StageContext, run_main

log = logging.getLogger("catalogbridge")


def _records(df: DataFrame) -> list[dict[str, Any]]:
    return [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.asDict().items()}
            for row in df.collect()]


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def build_report(ctx: StageContext) -> dict[str, Any]:
    store, level = ctx.store, ctx.cfg.analysis.region_level
    clean, quarantine = store.read("settlements_clean"), store.read("settlements_quarantine")
    recon = store.read("reconciliation")
    regions = _records(recon.groupBy("region").agg(
        *[F.sum(c).alias(c) for c in ("input_rows", "clean_rows", "quarantined_rows",
                                       "input_fee", "clean_fee", "quarantined_fee")],
        F.min(F.col("balanced").cast("int")).cast("boolean").alias("balanced")).orderBy("region"))
    by_region = reasons_by_region(quarantine, column="reasons", region_level=level).cache()
    flags = reasons_by_region(clean, column="flags", region_level=level).cache()
    coverage = _records(mapping_coverage(clean).orderBy("treatment_admdvs"))
    rows, mapped = sum(c["rows"] for c in coverage), sum(c["mapped_rows"] for c in coverage)
    fee = sum(float(c["fee"] or 0) for c in coverage)
    mapped_fee = sum(float(c["mapped_fee"] or 0) for c in coverage)

    def overall(df: DataFrame) -> list[dict[str, Any]]:
        return _records(df.groupBy("reason").agg(F.sum("rows").alias("rows"),
                                                 F.sum("fee").alias("fee"))
                        .orderBy(F.desc("rows"), "reason"))

    return {
        "run_id": ctx.run_id,
        "totals": {
            "input_rows": sum(r["input_rows"] for r in regions),
            "clean_rows": sum(r["clean_rows"] for r in regions),
            "quarantined_rows": sum(r["quarantined_rows"] for r in regions),
            "balanced": all(r["balanced"] for r in regions),
            "mapped_rows_pct": _pct(mapped, rows), "mapped_fee_pct": _pct(mapped_fee, fee),
        },
        "regions": regions,
        "quarantine_by_reason": overall(by_region),
        "quarantine_by_reason_region": _records(by_region.orderBy("region", "reason")),
        "flags_by_reason": overall(flags),
        "flags_by_reason_region": _records(flags.orderBy("region", "reason")),
        "supervision_flags_by_item": _records(supervision_flags_by_item(clean).orderBy(
            "flag", "treatment_admdvs", "national_code")),
        "mapping_coverage_by_region": coverage,
    }


def previous_report(history: Path, run_id: str) -> dict[str, Any] | None:
    """The most recent earlier run's report, if any."""
    earlier = [p for p in history.glob("*.json") if p.stem != run_id]
    if not earlier:
        return None
    latest = max(earlier, key=lambda p: p.stat().st_mtime)
    return dict(json.loads(latest.read_text(encoding="utf-8")))


def run(ctx: StageContext) -> None:
    report = build_report(ctx)
    history = ctx.store.exports_dir / "quality_history"
    history.mkdir(parents=True, exist_ok=True)
    previous = previous_report(history, ctx.run_id)
    alert_pct = ctx.cfg.quality.alert_share_change_pct
    report["previous_run_id"] = previous["run_id"] if previous else None
    report["previous_totals"] = previous["totals"] if previous else None
    report["alert_share_change_pct"] = alert_pct
    report["share_changes"] = share_changes(report, previous, alert_pct)
    text = json.dumps(report, ensure_ascii=False, indent=2, default=str)
    (history / f"{ctx.run_id}.json").write_text(text, encoding="utf-8")
    (ctx.store.exports_dir / "quality_report.json").write_text(text, encoding="utf-8")
    (ctx.store.exports_dir / "quality_report.md").write_text(render_markdown(report),
                                                             encoding="utf-8")
    for change in report["share_changes"]:
        if change["alert"]:
            log.warning("region %s: share of %s moved %+.2f points (now %.2f%%)",
                        change["region"], change["reason"], change["change_pct_points"],
                        change["share_pct"])


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, __doc__ or "", run)


if __name__ == "__main__":
    raise SystemExit(main())
