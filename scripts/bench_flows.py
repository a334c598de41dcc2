"""Benchmark the cross-region care analytics against the rest of the pipeline, in one run.

    python scripts/bench_flows.py --data-dir data/bench_decisions/rows_5000000 --rows 5000000

Generates the national case if missing (with the flow columns and the institution table),
runs the whole pipeline at province level (conf local.yaml, Delta tables, charts on) and
reads every stage's time from its progress line: the flow stages (flow_visits, flows,
surge_alerts, surge_drivers, flow_charts) against the other stages, and against the other
stages plus the commit of all tables (which includes the flow tables' own commit, so that
ratio flatters the flows a little; the first one does not). Prints Markdown and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import ROOT, generate, machine, pipeline

FLOW_STAGES = ("flow_visits", "flows", "surge_alerts", "surge_drivers", "flow_charts")


def flow_share(run: dict[str, Any]) -> dict[str, Any]:
    stages = run["stages_s"]
    flows = sum(stages.get(s, 0.0) for s in FLOW_STAGES)
    others = sum(v for k, v in stages.items() if k not in FLOW_STAGES)
    return {"flow_s": round(flows, 1), "other_stages_s": round(others, 1),
            "commit_s": run["commit_s"], "ratio_to_stages": round(flows / others, 3),
            "ratio_to_stages_and_commit": round(flows / (others + run["commit_s"]), 3),
            "per_stage_s": {s: stages.get(s) for s in FLOW_STAGES}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "bench_decisions" / "rows_5000000")
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--out", type=Path, default=ROOT / "output" / "bench_flows")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    generate(args.data_dir, args.rows)
    run = pipeline(args.data_dir, args.data_dir / "settlements", args.out / "tables",
                   args.out / "pipeline.log", run_id="bench_flows",
                   extra=[f"inputs.institutions.path={args.data_dir / 'institutions.csv'}",
                          "inputs.institutions.format=csv"])
    share = flow_share(run)
    results = {"rows": args.rows, "machine": machine(), "run": run, "share": share}
    (args.out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    lines = [f"Flow analytics vs the rest of the pipeline, {args.rows:,} rows "
             f"({results['machine']['cpu']}, {results['machine']['cores']} cores)", "",
             "| flow stages | other stages | + commit | flows / other stages | "
             "flows / (other stages + commit) |", "|---:|---:|---:|---:|---:|",
             f"| {share['flow_s']} s | {share['other_stages_s']} s | {share['commit_s']} s | "
             f"{share['ratio_to_stages']:.1%} | {share['ratio_to_stages_and_commit']:.1%} |",
             "", "| stage | seconds |", "|---|---:|"]
    lines += [f"| {s} | {v} |" for s, v in share["per_stage_s"].items()]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
