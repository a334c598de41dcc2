"""Benchmark the pipeline at several sizes and compare raw -> item_stats with DuckDB.

    python scripts/bench_pipeline.py --data-dir data/bench --rows 5000000 50000000

For each size: generate the national case if missing (`python -m synth`) and lay its rows
out as monthly deliveries (`monthly/settlements/delivery=2023-01/…`, by each line's fee
month, DuckDB), run the whole pipeline in local mode (conf/local.yaml, Delta tables) timing
every stage and the commit and polling the driver's memory (RSS of the driver Python process
plus its JVM, every 0.2 s); then the incremental case: eleven months into a fresh output,
then the twelfth added, timed, whose exports and quality totals must equal the full run's;
then time
raw settlement files -> item_stats, without the stage's other outputs, in separate processes
on the same files: Spark with the pipeline's settings, with Spark's default settings (AQE
on, as Spark 4 ships, and off), the plain plan (every row ranked by serial number) with
defaults and AQE off, and DuckDB with 2 threads; every table must equal the pipeline's
`item_stats`. Prints the figures as Markdown and
writes them as JSON. `make bench` runs it; it takes about an hour.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
STAGE_LINE = re.compile(r"stage \d+/\d+ (\w+) done in ([\d.]+) s")  # catalogbridge.pipeline.runner
COMMIT_LINE = re.compile(r"tables committed in ([\d.]+) s")  # catalogbridge.pipeline.cli
LAST_MONTH = "2023-12"  # the month the incremental case adds
COMPARED_EXPORTS = ("discrepant_items.csv", "scenario_results.csv", "class_summary.csv",
                    "internal/review_queue.csv")
VARIANTS = {  # name -> bench_item_stats.py arguments
    "spark_tuned": ["spark"],
    "spark_defaults": ["spark", "--defaults", "spark"],
    "spark_defaults_no_aqe": ["spark", "--defaults", "no-aqe"],
    "spark_plain": ["spark", "--defaults", "no-aqe", "--rank-all"],
    "duckdb": ["duckdb", "--threads", "2"],
}
BIG_TABLES = ("settlement_rows", "reconciliation", "_staging")


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[tuple[int, str]]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/comm") as comm:
                name = comm.read().strip()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append((int(entry), name))
    return found


# Generated data only: a fixed pseudonymisation key unless the environment has one.
KEY_ENV, BENCH_KEY = "CATALOGBRIDGE_KEY", "bench-key-for-generated-data-only-0123456789"


def run_measured(cmd: list[str], log: Path) -> dict[str, Any]:
    """Run cmd; wall time, peak RSS of the driver (Python + its JVM) and the load meanwhile."""
    peak = {"driver_kb": 0, "tree_kb": 0}
    loads: list[float] = []
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True,
                                env={KEY_ENV: BENCH_KEY, **os.environ})

        def sample() -> None:
            while proc.poll() is None:
                kids = _children(proc.pid)
                driver = _rss_kb(proc.pid) + sum(_rss_kb(p) for p, n in kids if n == "java")
                tree = driver + sum(_rss_kb(q) for p, n in kids if n == "java"
                                    for q, _ in _children(p))
                peak["driver_kb"] = max(peak["driver_kb"], driver)
                peak["tree_kb"] = max(peak["tree_kb"], tree)
                loads.append(os.getloadavg()[0])
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        sampler.join()
    wall = time.perf_counter() - started
    text = log.read_text(errors="replace")
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}); see {log}:\n{text[-3000:]}")
    return {"wall_s": round(wall, 1), "peak_driver_rss_mb": round(peak["driver_kb"] / 1024),
            "peak_tree_rss_mb": round(peak["tree_kb"] / 1024),
            "load_mean": round(sum(loads) / max(len(loads), 1), 2), "output": text}


def generate(data: Path, rows: int) -> float | None:
    if (data / "manifest.json").is_file():
        manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
        if manifest["rows"]["total"] == rows:
            return None
    shutil.rmtree(data, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([PY, "-m", "synth", "--out", str(data), "--rows", str(rows),
                    "--quiet"], cwd=ROOT, check=True)
    return round(time.perf_counter() - started, 1)


def monthly_layout(data: Path) -> Path:
    """The generated rows as monthly deliveries under `data/monthly/settlements` (once)."""
    import duckdb

    target = data / "monthly" / "settlements"
    if target.is_dir():
        return target.parent
    month = "coalesce(strftime(fee_ocur_time, '%Y-%m'), 'undated')"
    target.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"threads": 2})
    con.execute("SET enable_progress_bar = false")
    con.execute(
        f"COPY (SELECT *, {month} AS delivery FROM read_parquet('{data}/settlements/*.parquet')) "
        f"TO '{target}' (FORMAT parquet, PARTITION_BY (delivery))")
    return target.parent


def pipeline(national: Path, settlements: Path, out: Path, log: Path,
             run_id: str = "bench", extra: Sequence[str] = ()) -> dict[str, Any]:
    """The whole pipeline timed; `extra`: more `key=value` conf overrides."""
    cmd = [PY, "-m", "jobs.run_pipeline", "--conf", "conf/local.yaml",
           "--set", f"inputs.national_items.path={national / 'national_items.csv'}",
           "--set", f"inputs.catalogs.path={national / 'catalogs'}",
           "--set", f"inputs.settlements.path={settlements}",
           "--set", f"output.path={out}", "--set", f"run_id={run_id}",
           *[arg for item in extra for arg in ("--set", item)]]
    result = run_measured(cmd, log)
    output = result.pop("output")
    result["stages_s"] = {m[1]: float(m[2]) for m in STAGE_LINE.finditer(output)}
    result["commit_s"] = float(COMMIT_LINE.findall(output)[-1])
    result["command"] = " ".join(cmd)
    return result


def incremental(data: Path, monthly: Path, full: Path, work: Path) -> dict[str, Any]:
    """Eleven months, then the twelfth added (timed); its results must equal the full run's."""
    deliveries, out = work / "deliveries", work / "incremental"
    for file in sorted((monthly / "settlements").rglob("*.parquet")):
        if f"delivery={LAST_MONTH}" not in str(file):
            target = deliveries / file.relative_to(monthly / "settlements")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(file, target)
    eleven = pipeline(data, deliveries, out, work / "eleven_months.log", "eleven")
    last = monthly / "settlements" / f"delivery={LAST_MONTH}"
    shutil.copytree(last, deliveries / last.name, copy_function=os.link)
    added = pipeline(data, deliveries, out, work / "month_added.log", "added")
    same = {name: _export(out / "exports" / name).equals(_export(full / "exports" / name))
            for name in COMPARED_EXPORTS}

    def totals(root: Path) -> dict[str, Any]:
        report = json.loads((root / "exports" / "quality_report.json").read_text("utf-8"))
        return dict(report["totals"])

    same["quality_totals"] = totals(out) == totals(full)
    return {"eleven_months": eleven, "month_added": added, "equal": same}


def _export(path: Path) -> pd.DataFrame:
    """An exported CSV as written, row order included, without the column naming the run."""
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return frame.drop(columns=["run_id"], errors="ignore")


def months_tagged(log: Path) -> str:
    """What the clean stage said it tagged (catalogbridge.pipeline.nodes.clean_settlements)."""
    found = re.findall(r"settlement months: (.*)", log.read_text(errors="replace"))
    return found[-1] if found else "?"


def item_stats_runs(data: Path, tables: Path, work: Path, variants: list[str],
                    repeat: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in variants:
        runs = []
        for i in range(repeat):
            out = work / f"item_stats_{name}"
            cmd = [PY, "scripts/bench_item_stats.py", *VARIANTS[name], "--data", str(data),
                   "--tables", str(tables), "--out", str(out)]
            measured = run_measured(cmd, work / f"{name}-{i}.log")
            reported = json.loads(measured.pop("output").strip().splitlines()[-1])
            runs.append({**reported, **measured})
            print(f"    {name:15s} run {i + 1}: {reported['seconds']:7.1f} s "
                  f"(load {measured['load_mean']})", flush=True)
        best = min(runs, key=lambda r: r["seconds"])
        results[name] = {"seconds": best["seconds"], "runs": runs,
                         "command": " ".join(["python scripts/bench_item_stats.py",
                                              *VARIANTS[name], "--data", str(data),
                                              "--tables", str(tables), "--out", "OUT"])}
    return results


def same_item_stats(tables: Path, work: Path, variants: list[str]) -> dict[str, bool]:
    """Each variant's table equals the pipeline's item_stats, row for row."""
    key = ["insured_admdvs", "treatment_admdvs", "national_code"]

    def load(path: Path) -> pd.DataFrame:
        frame = pd.read_parquet(path)[[*key, "visits", "fee", "lines"]]
        frame = frame.astype({"visits": "int64", "lines": "int64"})
        frame["fee"] = frame["fee"].map(str)
        return frame.sort_values(key).reset_index(drop=True)

    expected = load(tables / "item_stats")
    return {name: load(work / f"item_stats_{name}").equals(expected) for name in variants}


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    import pyspark

    return {"cpu": model, "cores": os.cpu_count(), "memory_gb": round(mem_kb / 2**20, 1),
            "python": platform.python_version(), "pyspark": pyspark.__version__,
            "java": java.splitlines()[0] if java else "?", "os": platform.platform()}


def report(results: dict[str, Any]) -> str:
    """Markdown: the issue's figures per size, then how they grow from the first size."""
    cores = results["machine"]["cores"]
    sizes = results["sizes"]

    def stages(r: dict[str, Any]) -> float:
        """Raw files -> item_stats as the pipeline runs it, writes (and the reconciliation
        that proves every row landed once) included."""
        times = r["pipeline"]["stages_s"]
        return float(times["clean_settlements"] + times.get("reconcile", 0.0)
                     + times["item_stats"] + r["pipeline"]["commit_s"])

    def seconds(r: dict[str, Any], name: str) -> float | None:
        return r["item_stats"].get(name, {}).get("seconds")

    lines = ["| rows | whole pipeline | clean + reconcile + item_stats stages + commit | "
             "DuckDB (2 threads) | stages ÷ DuckDB | Spark computing item_stats only (tuned) | ÷ DuckDB | "
             "Spark 4 defaults (AQE on) | defaults, AQE off | plain plan, defaults, AQE off | "
             "rows/s/core (stages) | peak driver RSS | load |",
             "|" + "---:|" * 13]
    for rows, r in sizes.items():
        duck, tuned = seconds(r, "duckdb"), seconds(r, "spark_tuned")
        defaults, no_aqe = seconds(r, "spark_defaults"), seconds(r, "spark_defaults_no_aqe")
        plain = seconds(r, "spark_plain")

        def ratio(a: float | None, b: float | None) -> str:
            return f"{a / b:.2f}×" if a and b else "–"

        lines.append(
            f"| {int(rows):,} | {r['pipeline']['wall_s']} s | {stages(r):.1f} s | {duck} s | "
            f"{ratio(stages(r), duck)} | {tuned} s | {ratio(tuned, duck)} | "
            f"{defaults} s ({ratio(defaults, tuned)}) | {no_aqe} s ({ratio(no_aqe, tuned)}) | "
            f"{plain} s ({ratio(plain, tuned)}) | "
            f"{int(rows) / stages(r) / cores:,.0f} | {r['pipeline']['peak_driver_rss_mb']} MB | "
            f"{r['pipeline']['load_mean']} |")
    keys = list(sizes)
    if len(keys) >= 2:
        small, big = sizes[keys[0]], sizes[keys[-1]]

        def grow(get: Any) -> str:
            return f"{get(big) / get(small):.2f}"

        lines += ["", f"{int(keys[-1]):,} rows vs {int(keys[0]):,}: whole pipeline "
                  f"{grow(lambda r: r['pipeline']['wall_s'])}× the time, clean + item_stats "
                  f"{grow(stages)}×, peak driver RSS "
                  f"{grow(lambda r: r['pipeline']['peak_driver_rss_mb'])}×"]
    lines += ["", "| rows | full run (12 months) | eleven months | twelfth month added | "
              "added ÷ full | months tagged when adding | equal to the full run |",
              "|---:|---:|---:|---:|---:|---|---|"]
    for rows, r in sizes.items():
        inc = r.get("incremental")
        if inc:
            full, added = r["pipeline"]["wall_s"], inc["month_added"]["wall_s"]
            lines.append(f"| {int(rows):,} | {full} s | {inc['eleven_months']['wall_s']} s | "
                         f"{added} s | {added / full:.2f} | {inc['month_added']['tagged']} | "
                         f"{all(inc['equal'].values())} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "bench")
    parser.add_argument("--rows", type=int, nargs="+", default=[5_000_000, 50_000_000])
    parser.add_argument("--out", type=Path, default=ROOT / "output" / "bench")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--repeat", type=int, default=1, help="runs per raw->item_stats variant")
    parser.add_argument("--incremental-rows", type=int, nargs="*", default=None,
                        help="sizes that also run the incremental case (default: every size)")
    parser.add_argument("--keep-output", action="store_true",
                        help="keep the pipeline's settlement tables (GBs at 50 M rows)")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M"),
                               "command": " ".join(sys.argv), "sizes": {}}
    print(json.dumps(results["machine"]), flush=True)
    for rows in args.rows:
        data, work = args.data_dir / f"rows_{rows}", args.out / f"rows_{rows}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        print(f"{rows:,} rows", flush=True)
        generated = generate(data, rows)
        print(f"  data in {data}" + (f" (generated in {generated} s)" if generated else ""),
              flush=True)
        monthly = monthly_layout(data)
        run = pipeline(data, monthly / "settlements", work / "tables", work / "pipeline.log")
        print(f"  pipeline {run['wall_s']} s, stages {run['stages_s']}, commit "
              f"{run['commit_s']} s, peak driver RSS {run['peak_driver_rss_mb']} MB "
              f"(load {run['load_mean']})", flush=True)
        inc = None
        if args.incremental_rows is None or rows in args.incremental_rows:
            inc = incremental(data, monthly, work / "tables", work)
            inc["month_added"]["tagged"] = months_tagged(work / "month_added.log")
            print(f"  incremental: eleven months {inc['eleven_months']['wall_s']} s, twelfth "
                  f"added {inc['month_added']['wall_s']} s ({inc['month_added']['tagged']}); "
                  f"equal to the full run: {inc['equal']}", flush=True)
            if not all(inc["equal"].values()):
                raise SystemExit(f"the incremental run differs from the full run: {inc['equal']}")
            shutil.rmtree(work / "incremental", ignore_errors=True)
        stats = item_stats_runs(monthly, work / "tables", work, args.variants, args.repeat)
        equal = same_item_stats(work / "tables", work, args.variants)
        print(f"  same item_stats as the pipeline: {equal}", flush=True)
        if not all(equal.values()):
            raise SystemExit(f"item statistics differ: {equal} (outputs kept in {work})")
        results["sizes"][str(rows)] = {"pipeline": run, "item_stats": stats, "incremental": inc,
                                       "generated_s": generated, "equal": equal}
        if not args.keep_output:
            for name in BIG_TABLES:
                shutil.rmtree(work / "tables" / name, ignore_errors=True)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M")
    target = args.out / "bench.json"
    target.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print("\n" + report(results) + f"\n\nfigures: {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
