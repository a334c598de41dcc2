"""The pipeline's tables under `output.path` (conf `output`), written all or nothing."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from catalogbridge.io.readers import InputError
from catalogbridge.io.session import delta_available
from catalogbridge.names import SERIAL, VISIT
from catalogbridge.settings import check_choice

log = logging.getLogger(__name__)

TABLE_FORMATS = ("auto", "delta", "parquet")


@dataclass(frozen=True)
class OutputSettings:
    """Where tables and exports go, and in which format (conf `output`)."""

    path: str = "output"
    format: str = "auto"  # auto: Delta when its classes load, else Parquet
    exports_dir: str = "exports"  # relative to path unless absolute; on the driver's disk
    charts: bool = True

    def __post_init__(self) -> None:
        check_choice("format", self.format, TABLE_FORMATS)

    @property
    def exports(self) -> Path:
        path = Path(self.exports_dir)
        return path if path.is_absolute() else Path(self.path) / path


def resolve_table_format(requested: str, has_delta: bool) -> str:
    """`auto` means Delta when its classes load, else Parquet; `delta` without them is an error."""
    if requested == "parquet":
        return "parquet"
    if has_delta:
        return "delta"
    if requested == "delta":
        raise InputError(
            "output.format is 'delta' but the Delta Lake classes are not on the class path; "
            "add the delta-spark jars (spark.jars or --packages io.delta:delta-spark_2.13:4.0.0) "
            "or set output.format: auto"
        )
    return "parquet"


# Settlement identifiers are (nearly) unique per row: Parquet would build a dictionary for
# them, overflow it and fall back to plain encoding in every row group, which costs ~10 % of
# a settlement table's write time for no saving in size.
_UNIQUE_COLUMNS = (SERIAL, "setl_id", VISIT, "psn_no")


def _dictionary_off(columns: Sequence[str]) -> dict[str, str]:
    return {f"parquet.enable.dictionary#{c}": "false" for c in _UNIQUE_COLUMNS if c in columns}


class TableStore:
    """Reads and writes the pipeline's tables under `output.path`, all or nothing.

    Tables written during a run go to `_staging/<run_id>/`; later stages of the same run
    read them there. `commit()` swaps them into place only after every stage succeeded
    (Delta: one overwrite transaction per table; Parquet: a directory rename), and
    `discard()` drops them, so a failed run leaves the previous run's tables unchanged.
    """

    def __init__(self, spark: SparkSession, out: OutputSettings, run_id: str = "adhoc") -> None:
        self.spark = spark
        self.out = out
        self.run_id = run_id
        self.format = resolve_table_format(out.format, delta_available(spark))
        self._pending: dict[str, str] = {}
        if out.format == "auto":
            log.warning("table format: %s (output.format=auto%s)", self.format,
                        "" if self.format == "delta" else "; Delta Lake classes not found")

    def path(self, name: str) -> str:
        return f"{self.out.path.rstrip('/')}/{name}"

    @property
    def _run_dir(self) -> str:
        return self.path(f"_staging/{self.run_id}")

    def write(self, df: DataFrame, name: str) -> int:
        """Stage `df` as table `name` for this run; the number of rows, counted while writing."""
        staged = f"{self._run_dir}/{name}"
        rows = Observation()
        df.observe(rows, F.count(F.lit(1)).alias("rows")).write.format(self.format).mode(
            "overwrite").options(overwriteSchema="true", **_dictionary_off(df.columns)).save(staged)
        self._pending[name] = staged
        return int(rows.get["rows"])

    def scratch_path(self, name: str) -> str:
        """A place for this run's intermediate files; dropped with the staging area."""
        return f"{self._run_dir}/_scratch/{name}"

    def read(self, name: str) -> DataFrame:
        path = self._pending.get(name, self.path(name))
        try:
            return self.spark.read.format(self.format).load(path)
        except AnalysisException:
            raise InputError(
                f"table '{name}' not found at {path}: run the stage that writes it "
                "first (python -m jobs.run_pipeline runs them all)"
            ) from None

    def commit(self) -> None:
        """Put every table of this run in place, then drop the staging area."""
        for name, staged in self._pending.items():
            final = self.path(name)
            if self.format == "delta":
                self.spark.read.format("delta").load(staged).write.format("delta").mode(
                    "overwrite").option("overwriteSchema", "true").save(final)
            else:
                previous = f"{self._run_dir}/_previous/{name}"
                if self._fs.exists(self._jpath(final)):
                    self._fs.mkdirs(self._jpath(previous).getParent())
                    self._fs.rename(self._jpath(final), self._jpath(previous))
                self._fs.rename(self._jpath(staged), self._jpath(final))
        self._pending.clear()
        self._drop_run_dir()

    def discard(self) -> None:
        self._pending.clear()
        self._drop_run_dir()

    def _drop_run_dir(self) -> None:
        self._fs.delete(self._jpath(self._run_dir), True)
        staging = self._jpath(self.path("_staging"))
        if self._fs.exists(staging) and not self._fs.listStatus(staging):
            self._fs.delete(staging, False)

    def _jpath(self, path: str) -> Any:
        jvm = self.spark.sparkContext._jvm
        assert jvm is not None
        return jvm.org.apache.hadoop.fs.Path(path)

    @property
    def _fs(self) -> Any:
        conf = self.spark.sparkContext._jsc.hadoopConfiguration()
        return self._jpath(self.out.path).getFileSystem(conf)
