"""The one SparkSession factory used by jobs, tests and notebooks."""

from __future__ import annotations

import logging
import os
import sys

from pyspark.sql import SparkSession

from catalogbridge.config import SparkSettings

log = logging.getLogger(__name__)

# Settings tuned for this workload on small machines; conf files may override any of them.
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.enabled": "true",
    "spark.sql.adaptive.skewJoin.enabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "Asia/Shanghai",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    # Spark 4 accepts only a few CSV charsets unless told to use any Java charset (GB18030).
    "spark.sql.legacy.javaCharsets": "true",
}


def get_spark(settings: SparkSettings) -> SparkSession:
    """Build (or reuse) the session; in local mode the workers use this interpreter."""
    if _runs_locally(settings.master):
        # Python workers must see the same packages (pandas, rapidfuzz) as the driver.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(settings.app_name)
    if settings.master:
        builder = builder.master(settings.master)
    for key, value in {**DEFAULT_CONF, **settings.conf}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.log_level)
    return spark


def _runs_locally(master: str | None) -> bool:
    """Local unless spark-submit launched us (it sets the gateway port) without a local master.

    On a cluster the executors' Python comes from `spark.pyspark.python`
    (`./environment/bin/python` from the shipped archive), never the driver's path.
    """
    if master is not None:
        return master.startswith("local")
    return "PYSPARK_GATEWAY_PORT" not in os.environ


def delta_available(spark: SparkSession) -> bool:
    """True when the Delta Lake classes are on the JVM class path of this session."""
    try:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        jvm.java.lang.Class.forName("io.delta.tables.DeltaTable")
    except Exception:
        return False
    return True
