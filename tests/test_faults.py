"""A run whose driver is killed mid-way leaves every table at its previous version, and the
next run succeeds without manual clean-up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from catalogbridge.io import history
from catalogbridge.pipeline.stages import STAGES
from jobs import run_pipeline
from tests.conftest import Case, copy_case

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("national_items", "catalog_mapping", "settlement_rows", "settlement_deliveries",
          "reconciliation", "review_queue", "item_stats", "discrepant_items",
          "scenario_results", "class_summary")
KILL_AT = f"stage 7/{len(STAGES)} discrepancy"  # settlement rows and item statistics are staged by then


def test_driver_killed_midway(spark: SparkSession, two_provinces: Case, tmp_path: Path) -> None:
    case = copy_case(two_provinces, tmp_path)
    before = {t: history.latest_version(spark, str(case.out / t)) for t in TABLES}
    settlements = tmp_path / "settlements.csv"  # re-delivered: the run has rows to write
    settlements.write_text("\n".join(settlements.read_text("utf-8").splitlines()[:12]) + "\n",
                           encoding="utf-8")
    log = tmp_path / "killed.log"
    with log.open("wb") as out:
        driver = subprocess.Popen([sys.executable, "-m", "jobs.run_pipeline", *case.args,
                                   "--set", "run_id=killed"], cwd=ROOT, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 600
    while KILL_AT not in log.read_text(errors="replace"):
        assert driver.poll() is None, "the run ended before it could be killed:\n" + \
            log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, "the run did not reach the discrepancy stage"
        time.sleep(0.2)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver's Python and its JVM, no clean-up
    driver.wait()
    assert (case.out / "_staging" / "killed" / "settlement_rows").is_dir(), "killed mid-way"
    after = {t: history.latest_version(spark, str(case.out / t)) for t in TABLES}
    assert after == before, "no table moved to a new version"

    assert run_pipeline.main([*case.args, "--set", "run_id=next"]) == 0
    assert not (case.out / "_staging").exists(), "the killed run's leftovers are removed"
    versions = {t: history.run_versions(spark, str(case.out / t)) for t in TABLES}
    assert all("killed" not in v and "next" in v for v in versions.values()), versions
