"""The one SparkSession factory used by jobs, tests and notebooks (conf `spark`)."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

LOG_CONFIG = Path(__file__).with_name("log4j2.properties")
# Delta Lake's session extension and catalog, set whenever its jars are loaded.
DELTA_CONF: dict[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}

# Settings tuned for this workload on small machines; conf files may override any of them.
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.enabled": "true",
    "spark.sql.adaptive.skewJoin.enabled": "true",
    # Nodes cache small tables (decision views, coverage) that several outputs read; without
    # this a cached table keeps every shuffle partition (400 on a cluster) and each later
    # read runs that many tiny tasks (20,000 rows at 400 partitions: insured_decisions
    # 41.8 s -> 4.6 s, group_harmonisation 144.9 s -> 19.6 s).
    "spark.sql.optimizer.canChangeCachedPlanOutputPartitioning": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.session.timeZone": "Asia/Shanghai",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    # Spark 4 accepts only a few CSV charsets unless told to use any Java charset (GB18030).
    "spark.sql.legacy.javaCharsets": "true",
    # Partition values of our tables are text (settlement_month "2023-01"): never guessed
    # into dates or numbers when a Parquet table is read back.
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
}
# A task reads at most one file split, so settlement rows can be numbered within their split
# (io.readers.split_lineage): opening a file is made to cost a whole split.
SPLIT_BYTES, OPEN_COST = "spark.sql.files.maxPartitionBytes", "spark.sql.files.openCostInBytes"


@dataclass(frozen=True)
class SparkSettings:
    """Master, application name, log level and any Spark conf (conf `spark`)."""

    master: str | None = None
    app_name: str = "catalogbridge"
    log_level: str = "WARN"
    conf: dict[str, str] = field(default_factory=dict)
    # Local runs load the jars in this folder (Delta Lake, fetched by `make setup` with
    # scripts/fetch_jars.sh); relative to the working directory; null = none.
    jars_dir: str | None = ".jars"


def get_spark(settings: SparkSettings) -> SparkSession:
    """Build (or reuse) the session; in local mode the workers use this interpreter."""
    local = _runs_locally(settings.master)
    if local:
        # Python workers must see the same packages (pandas, rapidfuzz) as the driver.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # A machine whose hostname resolves to 127.0.0.1 makes Spark warn and guess; say it.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(settings.app_name)
    if settings.master:
        builder = builder.master(settings.master)
    jars = local_jars(settings.jars_dir) if local else []
    if jars:
        log.info("loading %s", ", ".join(Path(j).name for j in jars))
    jar_conf = {"spark.jars": ",".join(jars), **DELTA_CONF} if jars else {}
    conf = {**DEFAULT_CONF, **_console_conf(local), **jar_conf, **settings.conf}
    conf.setdefault(OPEN_COST, conf.get(SPLIT_BYTES, "128m"))
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.log_level)
    return spark


def local_jars(folder: str | None) -> list[str]:
    """Absolute paths of the jars in `folder` (none when it is unset or absent)."""
    if folder is None or not Path(folder).is_dir():
        return []
    return sorted(str(p.resolve()) for p in Path(folder).glob("*.jar"))


def _console_conf(local: bool) -> dict[str, str]:
    """Spark's progress bar only on a terminal, never in CI logs; our log config when local.

    The log configuration reaches the driver JVM only when this process launches it, i.e.
    in local mode; spark-submit brings its own.
    """
    conf = {"spark.ui.showConsoleProgress":
            str(sys.stderr.isatty() and not os.environ.get("CI")).lower()}
    if local:
        conf["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}"
    return conf


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
        # spark.jars are loaded by Spark's class loader, not the JVM's system loader.
        jvm.java.lang.Thread.currentThread().getContextClassLoader().loadClass(
            "io.delta.tables.DeltaTable")
    except Exception:
        return False
    return True
