"""One local SparkSession for the whole test session, and the pipeline run once per case.

Two cases are run once per test session and read by many tests: the hand-computed
two-province case (tests/cases.py) and a small generated national case with its ground
truth. A test that needs a failure or a second run works on a copy (`copy_case`).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from catalogbridge.io.session import SparkSettings, get_spark
from catalogbridge.pipeline.runner import read_table
from catalogbridge.privacy.pseudonyms import Pseudonymiser, pseudonym
from catalogbridge.privacy.settings import IDENTIFIERS
from jobs import run_pipeline
from synth.cli import main as generate
from tests.cases import write_inputs

# Generated data only. Set before any run (and inherited by the runs a test starts as
# subprocesses: the cluster and fault tests).
TEST_KEY = "test-key-for-generated-data-only-0123456789abcdef"
os.environ["CATALOGBRIDGE_KEY"] = TEST_KEY
TEST_PSEUDONYMS = Pseudonymiser(IDENTIFIERS, TEST_KEY.encode())


def pseudonym_of(value: str) -> str:
    """What a run of the tests stores for the identifier `value`."""
    return pseudonym(TEST_KEY.encode(), value, TEST_PSEUDONYMS.length)

SHARED = Path(__file__).resolve().parents[2] / "shared"
NHSA = SHARED / "data" / "nhsa"
NATIONAL_ROWS = 20_000
ALERT_MIN_VISITS = 3  # flows.alerts.min_baseline_visits of the national case
# A 20,000-row year is too small for the default minimum volumes of an alert: alert on
# institutions with a handful of baseline visits.
SMALL_YEAR_ALERTS = ("--set", f"flows.alerts.min_baseline_visits={ALERT_MIN_VISITS}",
                     "--set", "flows.alerts.min_baseline_fees=0")

TEST_SPARK = SparkSettings(
    master="local[2]",
    app_name="catalogbridge-tests",
    log_level="ERROR",
    conf={
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.ui.enabled": "false",
        "spark.sql.adaptive.coalescePartitions.initialPartitionNum": "2",
        "spark.driver.memory": "2g",
        "spark.databricks.delta.snapshotPartitions": "2",
    },
)


@dataclass(frozen=True)
class Case:
    """A pipeline run: its inputs and output under `root`, and the arguments that made it."""

    root: Path
    args: list[str]

    @property
    def out(self) -> Path:
        return self.root / "out"

    def table(self, spark: SparkSession, name: str) -> DataFrame:
        return read_table(spark, self.out, name)


def copy_case(case: Case, target: Path) -> Case:
    """The case's inputs and outputs copied to `target`, with arguments pointing there."""
    shutil.copytree(case.root, target, dirs_exist_ok=True)
    return Case(target, [a.replace(str(case.root), str(target)) for a in case.args])


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = get_spark(TEST_SPARK)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def two_provinces(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Case:
    """The hand-computed case of tests/cases.py through every stage, once."""
    root = tmp_path_factory.mktemp("two_provinces")
    case = Case(root, write_inputs(root))
    assert run_pipeline.main([*case.args, "--set", "run_id=test-run"]) == 0
    return case


@pytest.fixture(scope="session")
def national_case(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Case:
    """A small generated national case (31 provinces) through every stage, once."""
    root = tmp_path_factory.mktemp("national")
    data = root / "data"
    assert generate(["--out", str(data), "--rows", str(NATIONAL_ROWS), "--quiet"]) == 0
    case = Case(root, [
        "--conf", "conf/local.yaml",
        "--set", f"inputs.national_items.path={data / 'national_items.csv'}",
        "--set", f"inputs.catalogs.path={data / 'catalogs'}",
        "--set", f"inputs.settlements.path={data / 'settlements'}",
        "--set", f"output.path={root / 'out'}", "--set", "output.charts=false",
        "--set", f"inputs.institutions.path={data / 'institutions.csv'}",
        "--set", "inputs.institutions.format=csv",
        *SMALL_YEAR_ALERTS,
    ])
    log_file = logging.FileHandler(root / "run.log", encoding="utf-8")  # scanned for identifiers
    ours = logging.getLogger("catalogbridge")
    level = ours.level
    ours.setLevel(logging.INFO)
    ours.addHandler(log_file)
    try:
        assert run_pipeline.main(case.args) == 0
    finally:
        ours.removeHandler(log_file)
        ours.setLevel(level)
        log_file.close()
    return case


@pytest.fixture(scope="session")
def nhsa_dir() -> Path:
    if not (NHSA / "national_items_sample.tsv").is_file():
        pytest.skip("../shared/data/nhsa is not available on this machine")
    return NHSA
