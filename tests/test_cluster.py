"""The packaged pipeline on a real standalone Spark cluster gives the local-mode tables.

A master and two workers run as separate JVMs on this machine (`spark-class`, as
`start-master.sh`/`start-worker.sh` would start them; the pip wheel of pyspark ships only
`spark-daemon.sh`). `spark-submit` sends the wheel and the venv-pack archive from
`make package`: the driver runs the archive's Python, the executors unpack the archive as
`./environment` and run their Python workers from it, with pyspark from the cluster. The
submitted job uses `conf/cluster.yaml` and writes Delta tables, with the Delta jars
that `make setup` fetched into .jars/ passed by `--jars` (a cluster without Maven access).
One executor is killed while the clean stage runs; the run must still finish with the
local-mode tables.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyspark
import pytest
from pyspark.sql import SparkSession

from catalogbridge.io.session import local_jars
from catalogbridge.pipeline.stages import STAGES
from jobs import run_pipeline
from synth.cli import main as generate
from tests.conftest import NATIONAL_ROWS, SMALL_YEAR_ALERTS

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
ARCHIVE = DIST / "catalogbridge-env.tar.gz"
SPARK_HOME = Path(pyspark.__file__).resolve().parent
ROWS = NATIONAL_ROWS  # the national case's size, which SMALL_YEAR_ALERTS fit
WORKERS = 2
# Tables compared row for row, with the columns that identify a row.
COMPARED = {
    "settlement_rows": ["_source_file", "_source_split", "_split_record"],
    "item_stats": ["insured_admdvs", "treatment_admdvs", "national_code"],
    "discrepant_items": ["insured_admdvs", "treatment_admdvs", "national_code"],
    "scenario_results": ["insured_admdvs", "treatment_admdvs", "scheme"],
    "published_scenario_results": ["insured_admdvs", "treatment_admdvs", "scheme"],
    # the flow stages: the gravity fit (statsmodels) and the surge alerts
    "flow_gravity": ["model"],
    "surge_alerts": ["alert_rank"],
    # suppression in applyInPandas with HiGHS from the shipped environment
    "disclosure_cells": ["insured_admdvs", "kind", "treatment_admdvs", "national_code",
                         "grouping", "group_code", "scheme"],
}


@dataclass(frozen=True)
class Cluster:
    url: str
    ui_port: int
    worker_dirs: list[Path]

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as r:
            return dict(json.load(r))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(what: str, ready: Callable[[], bool], procs: list[subprocess.Popen[bytes]],
              logs: list[Path], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [log for p, log in zip(procs, logs, strict=True) if p.poll() is not None]
        if dead:
            pytest.fail(f"{what}: a cluster process exited early; see {dead[0]}:\n"
                        + dead[0].read_text(errors="replace")[-3000:])
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(1)
    pytest.fail(f"{what}: not ready after {timeout:.0f} s; logs in {logs[0].parent}")


@contextmanager
def standalone_cluster(work: Path) -> Iterator[Cluster]:
    """Master + WORKERS workers (1 core, 1.5 GB each) on 127.0.0.1; all stopped on exit."""
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOG_DIR": str(work),
           "SPARK_LOCAL_IP": "127.0.0.1"}
    port, ui_port = _free_port(), _free_port()
    url = f"spark://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []

    def launch(name: str, main_class: str, *args: str) -> None:
        log = work / f"{name}.log"
        with log.open("wb") as out:
            procs.append(subprocess.Popen(
                [str(SPARK_HOME / "bin" / "spark-class"), main_class, *args],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work))
        logs.append(log)

    dirs = [work / f"worker-{i}" for i in range(WORKERS)]
    cluster = Cluster(url, ui_port, dirs)
    try:
        launch("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
               "--port", str(port), "--webui-port", str(ui_port))
        _wait_for("master", lambda: cluster.state()["status"] == "ALIVE", procs, logs)
        for i, work_dir in enumerate(dirs):
            launch(f"worker-{i}", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                   "--webui-port", str(_free_port()), "--cores", "1", "--memory", "1536m",
                   "--work-dir", str(work_dir), url)
        _wait_for("workers", lambda: cluster.state()["aliveworkers"] == WORKERS, procs, logs)
        yield cluster
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _inputs(data: Path) -> list[str]:
    return ["--set", f"inputs.national_items.path={data / 'national_items.csv'}",
            "--set", f"inputs.catalogs.path={data / 'catalogs'}",
            "--set", f"inputs.settlements.path={data / 'settlements'}",
            "--set", "output.charts=false", *SMALL_YEAR_ALERTS]


# One executor is killed when the driver logs this line (the clean stage has started).
KILL_EXECUTOR_AT = f"stage 3/{len(STAGES)} clean_settlements"


def _executor_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes() if entry.isdigit() else b""
        except OSError:
            continue
        if b"CoarseGrainedExecutorBackend" in cmdline:
            pids.append(int(entry))
    return sorted(pids)


def _submit(cluster: Cluster, wheel: Path, deploy: Path, data: Path, out: Path) -> str:
    """spark-submit from a directory holding only conf/: the code comes from the packages.

    While the clean stage runs, one executor is killed (SIGKILL): Spark must reschedule its
    tasks on a replacement and finish the run. The driver's log is returned.
    """
    driver_env = deploy / "driver-env"
    with tarfile.open(ARCHIVE) as archive:
        archive.extractall(driver_env, filter="tar")
    script = next(driver_env.glob("lib/python3*/site-packages/jobs/run_pipeline.py"))
    cmd = [
        str(SPARK_HOME / "bin" / "spark-submit"), "--master", cluster.url,
        "--deploy-mode", "client",
        "--archives", f"{ARCHIVE}#environment", "--py-files", str(wheel),
        "--conf", "spark.pyspark.python=./environment/bin/python",
        "--conf", f"spark.pyspark.driver.python={driver_env / 'bin' / 'python'}",
        "--driver-memory", "1g", "--executor-memory", "1g",
        "--conf", "spark.executor.cores=1", "--conf", f"spark.cores.max={WORKERS}",
        "--jars", ",".join(local_jars(str(ROOT / ".jars"))),
        str(script), "--conf", "conf/cluster.yaml", *_inputs(data),
        "--set", f"output.path=file://{out}", "--set", f"output.exports_dir={out / 'exports'}",
    ]
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "PYTHONPATH", "VIRTUAL_ENV")}
    env["SPARK_HOME"] = str(SPARK_HOME)
    log = deploy / "spark-submit.log"
    with log.open("wb") as handle:
        submit = subprocess.Popen(cmd, cwd=deploy, env=env, stdout=handle,
                                  stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 600
    while KILL_EXECUTOR_AT not in log.read_text(errors="replace") and submit.poll() is None:
        assert time.monotonic() < deadline, "the clean stage did not start"
        time.sleep(0.1)
    executors = _executor_pids()
    assert len(executors) == WORKERS, f"executors before the kill: {executors}"
    os.kill(executors[0], signal.SIGKILL)
    code = submit.wait(timeout=600)
    text = log.read_text(errors="replace")
    assert code == 0, f"spark-submit failed ({code}):\n" + text[-5000:]
    return text


def _table(spark: SparkSession, out: Path, name: str) -> pd.DataFrame:
    assert (out / name / "_delta_log").is_dir(), f"{out / name} is a Delta table"
    frame = spark.read.format("delta").load(str(out / name)).toPandas()
    for column in frame.columns:  # arrays (reasons, flags) as lists, comparable by value
        if frame[column].map(lambda v: hasattr(v, "tolist")).any():
            frame[column] = frame[column].map(lambda v: None if v is None else list(v))
    return frame.sort_values(COMPARED[name]).reset_index(drop=True)


def test_packaged_pipeline_on_standalone_cluster_equals_local(
        spark: SparkSession, tmp_path: Path) -> None:
    wheels = sorted(DIST.glob("catalogbridge-*.whl"))
    if not wheels or not ARCHIVE.is_file():
        pytest.fail("dist/ has no wheel or environment archive: run `make package` "
                    "(`make test-cluster` does)")
    data = tmp_path / "data"
    assert generate(["--out", str(data), "--rows", str(ROWS), "--quiet"]) == 0
    deploy = tmp_path / "deploy"
    shutil.copytree(ROOT / "conf", deploy / "conf")

    with standalone_cluster(tmp_path / "cluster") as cluster:
        driver_log = _submit(cluster, wheels[-1], deploy, data, tmp_path / "cluster-out")
        apps = cluster.state()["completedapps"]
    assert [a["state"] for a in apps] == ["FINISHED"]
    # The killed executor was replaced: three executors in all, each with the shipped
    # environment unpacked; the driver saw the loss.
    executors = [d for w in cluster.worker_dirs for d in w.glob("app-*/*") if d.is_dir()]
    assert len(executors) == WORKERS + 1, executors
    assert all((e / "environment" / "bin" / "python").exists() for e in executors)
    assert "Lost executor" in driver_log or "lost executor" in driver_log.lower(), \
        driver_log[-3000:]

    local = tmp_path / "local-out"
    assert run_pipeline.main(["--conf", "conf/local.yaml", *_inputs(data),
                              "--set", f"output.path={local}"]) == 0
    for name in COMPARED:
        expected = _table(spark, local, name)
        got = _table(spark, tmp_path / "cluster-out", name)
        assert len(expected) > 0, name
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=name)
    # The unpacked environments take ~1 GB; keep the logs.
    shutil.rmtree(deploy / "driver-env")
    for shipped in (p for w in cluster.worker_dirs for p in w.glob("app-*/*/*")):
        if shipped.name == "environment":
            shutil.rmtree(shipped)
        elif shipped.name.endswith(".tar.gz"):
            shipped.unlink()
