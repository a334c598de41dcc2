"""Benchmark the pipeline at several sizes and compare raw -> item_stats with DuckDB.

    python scripts/bench_pipeline.py --data-dir data/bench --rows 5000000 50000000

For each size: generate the national case if missing (`python -m synth`), run
the whole pipeline in local mode (conf/local.yaml, Parquet) timing every stage and polling
the driver's memory (RSS of the driver Python process plus its JVM, every 0.2 s), then time
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
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
STAGE_LINE = re.compile(r"stage \d+/\d+ (\w+) done in ([\d.]+) s")  # catalogbridge.pipeline.runner
VARIANTS = {  # name -> bench_item_stats.py arguments
    "spark_tuned": ["spark"],
    "spark_defaults": ["spark", "--defaults", "spark"],
    "spark_defaults_no_aqe": ["spark", "--defaults", "no-aqe"],
    "spark_plain": ["spark", "--defaults", "no-aqe", "--rank-all"],
    "duckdb": ["duckdb", "--threads", "2"],
}
BIG_TABLES = ("settlements_clean", "settlements_quarantine", "reconciliation", "_staging")


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


def run_measured(cmd: list[str], log: Path) -> dict[str, Any]:
    """Run cmd; wall time, peak RSS of the driver (Python + its JVM) and the load meanwhile."""
    peak = {"driver_kb": 0, "tree_kb": 0}
    loads: list[float] = []
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True)

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


def pipeline(data: Path, out: Path, logs: Path) -> dict[str, Any]:
    cmd = [PY, "-m", "jobs.run_pipeline", "--conf", "conf/local.yaml",
           "--set", f"inputs.national_items.path={data / 'national_items.csv'}",
           "--set", f"inputs.catalogs.path={data / 'catalogs'}",
           "--set", f"inputs.settlements.path={data / 'settlements'}",
           "--set", f"output.path={out}", "--set", "output.format=parquet"]
    result = run_measured(cmd, logs / "pipeline.log")
    result["stages_s"] = {m[1]: float(m[2]) for m in STAGE_LINE.finditer(result.pop("output"))}
    result["command"] = " ".join(cmd)
    return result


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
                     + times["item_stats"])

    def seconds(r: dict[str, Any], name: str) -> float | None:
        return r["item_stats"].get(name, {}).get("seconds")

    lines = ["| rows | whole pipeline | clean + item_stats stages | DuckDB (2 threads) | "
             "stages ÷ DuckDB | Spark computing item_stats only (tuned) | ÷ DuckDB | "
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
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "bench")
    parser.add_argument("--rows", type=int, nargs="+", default=[5_000_000, 50_000_000])
    parser.add_argument("--out", type=Path, default=ROOT / "output" / "bench")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--repeat", type=int, default=1, help="runs per raw->item_stats variant")
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
        run = pipeline(data, work / "tables", work)
        print(f"  pipeline {run['wall_s']} s, stages {run['stages_s']}, peak driver RSS "
              f"{run['peak_driver_rss_mb']} MB (load {run['load_mean']})", flush=True)
        stats = item_stats_runs(data, work / "tables", work, args.variants, args.repeat)
        equal = same_item_stats(work / "tables", work, args.variants)
        print(f"  same item_stats as the pipeline: {equal}", flush=True)
        if not all(equal.values()):
            raise SystemExit(f"item statistics differ: {equal} (outputs kept in {work})")
        results["sizes"][str(rows)] = {"pipeline": run, "item_stats": stats,
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
