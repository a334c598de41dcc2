"""Delta Lake history of the pipeline's tables: versions, the run that wrote each, retention.

Every commit of a run carries `userMetadata` "catalogbridge run <run_id>", so the version a
run wrote can be found again (`--as-of RUN_ID`). History is kept `output.history_days`
(default 400: last year's reports can still be rebuilt; Delta's own default keeps deleted
files 7 days, after which time travel to older versions fails).
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

RUN_MARKER = "catalogbridge run "


def run_marker(run_id: str) -> str:
    return RUN_MARKER + run_id


def retention_properties(days: int) -> dict[str, str]:
    """Table properties that keep `days` of log entries and of the files they reference."""
    interval = f"interval {days} days"
    return {"delta.logRetentionDuration": interval, "delta.deletedFileRetentionDuration": interval}


def _table(spark: SparkSession, path: str) -> Any:
    from delta.tables import DeltaTable  # the pip package's bindings; needs the jars loaded

    return DeltaTable.forPath(spark, path)


def latest_version(spark: SparkSession, path: str) -> int:
    return int(_table(spark, path).history(1).select("version").first()[0])


def keep_history(spark: SparkSession, path: str, properties: dict[str, str]) -> None:
    """Set the retention properties on a table created before they were configured."""
    current = _table(spark, path).detail().select("properties").first()[0] or {}
    if any(current.get(k) != v for k, v in properties.items()):
        assignments = ", ".join(f"'{k}' = '{v}'" for k, v in properties.items())
        spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({assignments})")


def run_versions(spark: SparkSession, path: str) -> dict[str, int]:
    """run id -> the version of the table that run committed (the latest if it wrote twice)."""
    rows = (_table(spark, path).history()
            .where(F.col("userMetadata").startswith(RUN_MARKER))
            .select("userMetadata", "version").collect())
    versions: dict[str, int] = {}
    for marker, version in sorted(rows, key=lambda r: r[1]):
        versions[marker.removeprefix(RUN_MARKER)] = int(version)
    return versions
