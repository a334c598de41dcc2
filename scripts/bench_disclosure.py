"""Benchmark small-cell suppression on a finished run's discrepant items, region by region.

    python scripts/bench_disclosure.py --conf conf/demo.yaml      (after `make run`)

Reads `discrepant_items` of the conf's run (output.path) and, per insured region, times the
publication stage's pure core (cells, suppression with its audits) against a baseline
measured in the same run: building the region's cells and one audit of primary-only
suppression (what checking a table costs once). Prints one line per region, the totals and
the ratio suppression / baseline, and writes JSON next to the outputs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catalogbridge.decisions.settings import THRESHOLD_MEASURES  # noqa: E402
from catalogbridge.io.session import get_spark  # noqa: E402
from catalogbridge.names import DISCREPANT_ITEMS, INSURED  # noqa: E402
from catalogbridge.pipeline.config import load_config  # noqa: E402
from catalogbridge.pipeline.runner import read_table  # noqa: E402
from catalogbridge.privacy.disclosure import audit, primary_cells  # noqa: E402
from catalogbridge.publication.cells import SchemeRule, region_cells  # noqa: E402
from catalogbridge.publication.tables import hidden_in_region  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", default="conf/demo.yaml", help="the run's conf")
    args = parser.parse_args()
    cfg = load_config(args.conf)
    scenario, decision = cfg.scenario, cfg.decision
    pair_rule = SchemeRule(tuple(scenario.thresholds), scenario.scope, "visits_treatment")
    insured_rule = SchemeRule(tuple(decision.thresholds or scenario.thresholds), scenario.scope,
                              THRESHOLD_MEASURES[decision.threshold_on])
    min_cell, output = cfg.privacy.min_cell, Path(cfg.output.path)
    spark = get_spark(cfg.spark)
    items = read_table(spark, output, DISCREPANT_ITEMS).toPandas()
    spark.stop()
    regions, totals = [], {"rows": 0, "cells": 0, "primary": 0, "hidden": 0,
                           "baseline_s": 0.0, "suppression_s": 0.0}
    for insured, frame in items.groupby(INSURED):
        frame = frame.reset_index(drop=True)
        started = time.perf_counter()
        cells = region_cells(frame, pair_rule=pair_rule, insured_rule=insured_rule)
        primary = primary_cells(cells.values, min_cell)
        breaches = audit(cells.values, cells.equations, primary, min_cell=min_cell,
                         lower=cells.lower)
        baseline = time.perf_counter() - started
        started = time.perf_counter()
        hidden = hidden_in_region(frame, pair_rule=pair_rule, insured_rule=insured_rule,
                                  min_cell=min_cell)
        elapsed = time.perf_counter() - started
        row = {"insured": str(insured), "rows": len(frame), "cells": len(cells.values),
               "primary": len(primary), "primary_only_breaches": len(breaches),
               "hidden": len(hidden), "baseline_s": round(baseline, 3),
               "suppression_s": round(elapsed, 3)}
        regions.append(row)
        for key in ("rows", "cells", "primary", "hidden"):
            totals[key] += row[key]
        totals["baseline_s"] += baseline
        totals["suppression_s"] += elapsed
        print(f"{insured}: {row['rows']:>6,} items {row['cells']:>7,} cells "
              f"{row['primary']:>6,} primary ({row['primary_only_breaches']:,} breakable alone) "
              f"{row['hidden']:>6,} hidden; baseline {baseline:6.2f} s, "
              f"suppression {elapsed:6.2f} s", flush=True)
    ratio = totals["suppression_s"] / totals["baseline_s"] if totals["baseline_s"] else None
    result = {"output": str(output), "min_cell": min_cell, "regions": regions,
              "totals": {k: round(v, 2) if isinstance(v, float) else v for k, v in totals.items()},
              "suppression_vs_baseline": ratio and round(ratio, 2)}
    print(json.dumps(result["totals"]), f"suppression / baseline: {result['suppression_vs_baseline']}")
    (output / "bench_disclosure.json").write_text(json.dumps(result, indent=2),
                                                       encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
