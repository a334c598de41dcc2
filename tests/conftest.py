"""One local SparkSession for the whole test session, built by the project's own factory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from catalogbridge.config import SparkSettings
from catalogbridge.session import get_spark

SHARED = Path(__file__).resolve().parents[2] / "shared"
NHSA = SHARED / "data" / "nhsa"

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
    },
)


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = get_spark(TEST_SPARK)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def nhsa_dir() -> Path:
    if not (NHSA / "national_items_sample.tsv").is_file():
        pytest.skip("../shared/data/nhsa is not available on this machine")
    return NHSA
