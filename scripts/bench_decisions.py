"""Benchmark the decision stages against the rest of the pipeline, measured in the same run.

    python scripts/bench_decisions.py --data-dir data/bench_decisions/rows_5000000 --rows 5000000

Generates the national case if missing, runs the whole pipeline at province level (conf
local.yaml, Delta tables) and reads every stage's time from its progress line; the decision
stages (insured_decisions, group_harmonisation, budget_impact, budget_selection) are set
against the other stages plus the commit; "all in" also moves the decisions' work inside
other stages (the item_med_types table, the decision charts; from the per-output times of
the progress lines) to the decision side. Then runs budget_impact alone on those tables
with 0, 100 and 1,000 Monte Carlo draws (how it grows with draws), and the whole pipeline
at city level (how the decision stages grow with the number of regions). Prints Markdown
and writes JSON next to the outputs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import PY, ROOT, STAGE_LINE, generate, machine, pipeline, run_measured

LEVELS = ("province", "city")
DECISION_STAGES = ("insured_decisions", "group_harmonisation", "budget_impact",
                   "budget_selection")


# Work done for the decisions inside other stages: the med_type split of the statistics
# (item_stats stage) and the decision charts (report stage), from the progress lines.
DECISION_PARTS = {
    "item_med_types": re.compile(r"item_med_types [\d,]+ rows in ([\d.]+) s"),
    "decision_charts": re.compile(r"[\d,]+ decision charts(?: \([^)]*\))? in ([\d.]+) s"),
}


def share(run: dict[str, Any], output: str) -> dict[str, Any]:
    """Decision stages' seconds against the others' (commit included); and all in, with the
    decisions' parts of other stages moved to the decision side."""
    stages = run["stages_s"]
    decisions = sum(stages.get(s, 0.0) for s in DECISION_STAGES)
    rest = sum(v for k, v in stages.items() if k not in DECISION_STAGES) + run["commit_s"]
    parts = {name: sum(float(m) for m in pattern.findall(output))
             for name, pattern in DECISION_PARTS.items()}
    moved = sum(parts.values())
    return {"decision_s": round(decisions, 1), "rest_s": round(rest, 1),
            "ratio": round(decisions / rest, 3),
            "per_stage_s": {s: stages.get(s) for s in DECISION_STAGES},
            "parts_in_other_stages_s": parts,
            "all_in_ratio": round((decisions + moved) / (rest - moved), 3)}


def budget_alone(data: Path, out: Path, draws: int, log: Path) -> float:
    """Seconds of the budget_impact stage on the tables of `out` with `draws` draws."""
    cmd = [PY, "-m", "jobs.budget_impact", "--conf", "conf/local.yaml",
           "--set", f"inputs.national_items.path={data / 'national_items.csv'}",
           "--set", f"inputs.catalogs.path={data / 'catalogs'}",
           "--set", f"inputs.settlements.path={data / 'settlements'}",
           "--set", f"output.path={out}", "--set", f"decision.budget.draws={draws}"]
    output = run_measured(cmd, log)["output"]
    return float(next(m[2] for m in STAGE_LINE.finditer(output) if m[1] == "budget_impact"))


def regions(out: Path) -> dict[str, int]:
    """Insured regions and pairs of a run (from its run summary)."""
    summary = json.loads((out / "exports" / "run_summary.json").read_text(encoding="utf-8"))
    return {"insured_regions": summary["decisions"]["insured_regions"],
            "pairs": summary["totals"]["pairs"]}


def report(results: dict[str, Any]) -> str:
    lines = [f"Decision stages vs the rest of the pipeline, {results['rows']:,} rows "
             f"({results['machine']['cpu']}, {results['machine']['cores']} cores)", "",
             "| run | regions / pairs | decision stages | other stages + commit | ratio | "
             "all in |", "|---|---|---:|---:|---:|---:|"]
    for name in (level for level in LEVELS if level in results):
        run = results[name]
        lines.append(f"| {name} level | {run['regions']['insured_regions']} / "
                     f"{run['regions']['pairs']} | {run['share']['decision_s']} s | "
                     f"{run['share']['rest_s']} s | {run['share']['ratio']:.1%} | "
                     f"{run['share']['all_in_ratio']:.1%} |")
    for name in (level for level in LEVELS if level in results):
        lines += ["", f"| stage ({name} level) | seconds |", "|---|---:|"]
        lines += [f"| {s} | {v} |" for s, v in results[name]["share"]["per_stage_s"].items()]
        lines += [f"| ({s}, in another stage) | {v} |"
                  for s, v in results[name]["share"]["parts_in_other_stages_s"].items()]
    if "draws" in results:
        lines += ["", "| budget_impact alone, draws | seconds |", "|---|---:|"]
        lines += [f"| {d} | {s} |" for d, s in results["draws"].items()]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "bench_decisions" / "rows_5000000")
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--out", type=Path, default=ROOT / "output" / "bench_decisions")
    parser.add_argument("--draws", type=int, nargs="+", default=[0, 100, 1000])
    parser.add_argument("--levels", nargs="+", choices=LEVELS, default=list(LEVELS),
                        help="region levels to run (city level takes about twice as long)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="more conf overrides for the pipeline runs, "
                                                  "e.g. output.charts=false")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    generate(args.data_dir, args.rows)
    settlements = args.data_dir / "settlements"
    results: dict[str, Any] = {"rows": args.rows, "machine": machine()}
    for level in args.levels:
        out = args.out / level
        log = args.out / f"{level}.log"
        run = pipeline(args.data_dir, settlements, out, log, run_id=f"bench_{level}",
                       extra=[f"analysis.region_level={level}", *args.overrides])
        results[level] = {**run, "share": share(run, log.read_text(encoding="utf-8")),
                          "regions": regions(out)}
        if level == "province":
            results["draws"] = {d: budget_alone(args.data_dir, out, d,
                                                args.out / f"draws_{d}.log")
                                for d in args.draws}
    (args.out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
