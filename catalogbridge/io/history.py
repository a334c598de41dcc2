"""Delta Lake history of the pipeline's tables: versions, the run that wrote each, retention.

Every commit of a run carries `userMetadata` "catalogbridge run <run_id>", so the version a
run wrote can be found again (`--as-of RUN_ID`). History is kept `output.history_days`
(default 400: last year's reports can still be rebuilt; Delta's own default keeps deleted
files 7 days, after which time travel to older versions fails).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

RUN_MARKER = "catalogbridge run "
USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"
DEFAULT_PROPERTY = "spark.databricks.delta.properties.defaults."


def run_marker(run_id: str) -> str:
    return RUN_MARKER + run_id


@contextmanager
def commits_of_run(spark: SparkSession, run_id: str, properties: dict[str, str]) -> Iterator[None]:
    """Meanwhile every Delta commit of the session carries the run's marker and every new
    table `properties` (session settings, so SQL commands such as CONVERT carry them too)."""
    settings = {USER_METADATA: run_marker(run_id),
                **{DEFAULT_PROPERTY + k.removeprefix("delta."): v for k, v in properties.items()}}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key in settings:
            spark.conf.unset(key)


def convert_in_place(spark: SparkSession, path: str, partitions: str) -> None:
    """Make the Parquet files under `path` a Delta table without rewriting them."""
    by = f" PARTITIONED BY ({partitions})" if partitions else ""
    spark.sql(f"CONVERT TO DELTA {_quoted(spark, path, 'parquet')} NO STATISTICS{by}")


def retention_properties(days: int) -> dict[str, str]:
    """Table properties that keep `days` of log entries and of the files they reference."""
    interval = f"interval {days} days"
    return {"delta.logRetentionDuration": interval, "delta.deletedFileRetentionDuration": interval}


def _quoted(spark: SparkSession, path: str, source: str = "delta") -> str:
    """`delta.`<path>``, the path made absolute as Spark's own writes resolve it (Delta's SQL
    does not accept a relative path such as the demo's output/demo)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    qualified = str(fs.makeQualified(hadoop_path).toString())
    return f"{source}.`" + qualified.replace("`", "``") + "`"


def _history(spark: SparkSession, path: str, limit: int | None = None) -> DataFrame:
    """Delta's history through SQL: only the jars are needed, not the Python package (which
    would bring its own pyspark into the environment shipped to clusters)."""
    return spark.sql(f"DESCRIBE HISTORY {_quoted(spark, path)}"
                     + (f" LIMIT {limit}" if limit else ""))


def latest_version(spark: SparkSession, path: str) -> int:
    return latest_commit(spark, path)[0]


def latest_commit(spark: SparkSession, path: str) -> tuple[int, str | None]:
    """The table's latest version and the run that committed it (None: another tool)."""
    version, marker = _history(spark, path, 1).select("version", "userMetadata").collect()[0]
    run = marker.removeprefix(RUN_MARKER) if marker and marker.startswith(RUN_MARKER) else None
    return int(version), run


def keep_history(spark: SparkSession, path: str, properties: dict[str, str]) -> None:
    """Set the retention properties on a table created before they were configured."""
    detail = spark.sql(f"DESCRIBE DETAIL {_quoted(spark, path)}").select("properties").collect()
    current = detail[0][0] or {}
    if any(current.get(k) != v for k, v in properties.items()):
        assignments = ", ".join(f"'{k}' = '{v}'" for k, v in properties.items())
        spark.sql(f"ALTER TABLE {_quoted(spark, path)} SET TBLPROPERTIES ({assignments})")


def schema_conflict(spark: SparkSession, path: str, columns: dict[str, str]) -> str | None:
    """Why a table we did not write cannot be overwritten with `columns` (name -> type), or None.

    A Delta table at our path whose latest commit is not one of our runs was written by
    another tool; replacing it with a different schema would destroy someone else's data,
    so it is refused. (The latest commit only: the whole history would be read on every
    run, and grows with it.)
    """
    if latest_commit(spark, path)[1] is not None:
        return None
    theirs = {f.name: f.dataType.simpleString()
              for f in spark.read.format("delta").load(path).schema.fields}
    if theirs == columns:
        return None
    missing = [c for c in theirs if c not in columns]
    extra = [c for c in columns if c not in theirs]
    retyped = [f"{c} ({theirs[c]} -> {columns[c]})" for c in columns
               if c in theirs and theirs[c] != columns[c]]
    parts = [f"{label}: {', '.join(cols)}" for label, cols in
             (("columns only in the table", missing), ("columns only in this run", extra),
              ("different types", retyped)) if cols]
    return "; ".join(parts)


def run_versions(spark: SparkSession, path: str) -> dict[str, int]:
    """run id -> the version of the table that run committed (the latest if it wrote twice)."""
    rows = (_history(spark, path)
            .where(F.col("userMetadata").startswith(RUN_MARKER))
            .select("userMetadata", "version").collect())
    versions: dict[str, int] = {}
    for marker, version in sorted(rows, key=lambda r: r[1]):
        versions[marker.removeprefix(RUN_MARKER)] = int(version)
    return versions
