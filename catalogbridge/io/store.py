"""The pipeline's tables under `output.path` (conf `output`), written all or nothing."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from catalogbridge.columns import in_values
from catalogbridge.io import history
from catalogbridge.io.readers import InputError
from catalogbridge.io.session import delta_available
from catalogbridge.names import SERIAL, SETTLEMENT_DELIVERIES, STAGE_INPUTS, VISIT
from catalogbridge.settings import SettingError, check_choice

log = logging.getLogger(__name__)

TABLE_FORMATS = ("auto", "delta", "parquet")
COMMIT_THREADS = 4
# Committed after every other table: the delivery list says which files the stored rows
# came from, so it must never be ahead of them (a driver killed during the commit then
# leaves months that the next run sees as changed and tags again).
# The same holds for the stage fingerprints (catalogbridge.pipeline.reuse), which say
# which run's tables a later run may keep.
COMMIT_LAST = (SETTLEMENT_DELIVERIES, STAGE_INPUTS)
# In a table folder while its staged files are being made a Delta table (a hidden name:
# neither Spark nor Delta reads it as data).
MOVING = "_catalogbridge_moving"


@dataclass(frozen=True)
class OutputSettings:
    """Where tables and exports go, and in which format (conf `output`)."""

    path: str = "output"
    format: str = "auto"  # auto: Delta when its classes load, else Parquet
    exports_dir: str = "exports"  # relative to path unless absolute; on the driver's disk
    charts: bool = True
    history_days: int = 400  # Delta: days of versions kept for --as-of (Delta's default: 7)
    reuse_unchanged: bool = True  # keep a reusable stage's tables when nothing it reads changed

    def __post_init__(self) -> None:
        check_choice("format", self.format, TABLE_FORMATS)
        if self.history_days < 1:
            raise SettingError("history_days", "must be at least 1 (days of table history)")

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
            "add the delta-spark jars (make setup fetches them into .jars/; on a cluster "
            "--packages io.delta:delta-spark_2.13:4.0.1) "
            "or set output.format: auto"
        )
    return "parquet"


# Settlement identifiers are (nearly) unique per row: Parquet would build a dictionary for
# them, overflow it and fall back to plain encoding in every row group, which costs ~10 % of
# a settlement table's write time for no saving in size.
_UNIQUE_COLUMNS = (SERIAL, "setl_id", VISIT, "psn_no")


def _dictionary_off(columns: Sequence[str]) -> dict[str, str]:
    return {f"parquet.enable.dictionary#{c}": "false" for c in _UNIQUE_COLUMNS if c in columns}


@dataclass(frozen=True)
class PartitionReplace:
    """New rows for some partitions of a partitioned table; the others stay as they are.

    `values` are the values of `column` whose partitions are replaced (emptied when no
    new row has them); None replaces the whole table.
    """

    rows: DataFrame
    column: str
    values: tuple[str | None, ...] | None = None


def _replace_where(column: str, values: Sequence[str | None]) -> str:
    """The same test as SQL, for Delta's replaceWhere (values are our own month strings)."""
    known = ", ".join("'" + str(v).replace("'", "''") + "'" for v in values if v is not None)
    tests = ([f"{column} IN ({known})"] if known else []) + \
        ([f"{column} IS NULL"] if None in values else [])
    return " OR ".join(tests)


@dataclass(frozen=True)
class _Staged:
    path: str
    schema: StructType
    partition_by: tuple[str, ...] = ()
    replace: PartitionReplace | None = None  # rows dropped: the replace's rows were staged
    rows: int = 0


class TableStore:
    """Reads and writes the pipeline's tables under `output.path`, all or nothing.

    Tables written during a run go to `_staging/<run_id>/`; later stages of the same run
    read them there. `commit()` swaps them into place only after every stage succeeded
    (Delta: one overwrite transaction per table, marked with the run id; Parquet: a
    directory rename), and `discard()` drops them, so a failed run leaves the previous
    run's tables unchanged. With `as_of` (Delta), tables are read as that run left them and
    nothing can be written. `versions` records the version of every table read from its
    place or committed.
    """

    def __init__(self, spark: SparkSession, out: OutputSettings, run_id: str = "adhoc",
                 as_of: str | None = None) -> None:
        self.spark = spark
        self.out = out
        self.run_id = run_id
        self.as_of = as_of
        self.format = resolve_table_format(out.format, delta_available(spark))
        if as_of is not None and self.format != "delta":
            raise InputError(f"--as-of {as_of}: earlier runs can be read back from Delta tables "
                             f"only; these are {self.format} (output.format)")
        self.versions: dict[str, int] = {}
        self._pending: dict[str, _Staged] = {}
        if out.format == "auto":
            log.warning("table format: %s (output.format=auto%s)", self.format,
                        "" if self.format == "delta" else "; Delta Lake classes not found")

    def path(self, name: str) -> str:
        return f"{self.out.path.rstrip('/')}/{name}"

    @property
    def _run_dir(self) -> str:
        return self.path(f"_staging/{self.run_id}")

    def write(self, value: DataFrame | PartitionReplace, name: str,
              partition_by: Sequence[str] = ()) -> int:
        """Stage `value` as table `name` for this run; the number of rows, counted while writing.

        A `PartitionReplace` stages the new partitions only; reads in this run see them in
        place of the table's own, and commit replaces just those partitions (Parquet
        tables, which cannot, are staged whole).
        """
        self.check_writable(name)
        replace = value if isinstance(value, PartitionReplace) else None
        df = value.rows if isinstance(value, PartitionReplace) else value
        if replace is not None and replace.values is not None:
            if not replace.values:
                return 0  # nothing to replace: the table stays as it is
            if self.format != "delta" and self.exists(name):
                df = self._kept(name, replace).unionByName(df)
                replace = None
        # Partition columns last, where Parquet and CONVERT TO DELTA put them: a table keeps
        # one column order whether it was moved into place or written.
        df = df.select(*[c for c in df.columns if c not in partition_by], *partition_by)
        staged = f"{self._run_dir}/{name}"
        rows = Observation()
        # Staged as Parquet whatever the format: commit() writes each table once into its
        # Delta table, and a Delta write of a small table costs several Parquet ones.
        df.observe(rows, F.count(F.lit(1)).alias("rows")).write.mode("overwrite").options(
            **_dictionary_off(df.columns)).partitionBy(*partition_by).parquet(staged)
        full = replace is None or replace.values is None or not self.exists(name)
        count = int(rows.get["rows"])
        self._pending[name] = _Staged(staged, df.schema, tuple(partition_by),
                                      None if full else replace, count)
        return count

    def exists(self, name: str) -> bool:
        """Whether table `name` is in place (committed by an earlier run)."""
        marker = "_delta_log" if self.format == "delta" else ""
        path = self.path(name)
        return bool(self._fs.exists(self._jpath(f"{path}/{marker}".rstrip("/")))
                    and not self._fs.exists(self._jpath(f"{path}/{MOVING}")))

    def in_place(self, name: str) -> tuple[int, str | None] | None:
        """Version and writing run of Delta table `name` as committed, if this run has not
        staged it (None: staged, not there, or not Delta)."""
        if self.format != "delta" or name in self._pending or not self.exists(name):
            return None
        return history.latest_commit(self.spark, self.path(name))

    def _kept(self, name: str, replace: PartitionReplace) -> DataFrame:
        assert replace.values is not None
        return self._read_final(name).where(~in_values(F.col(replace.column), replace.values))

    def check_writable(self, name: str) -> None:
        if self.as_of is not None:
            raise InputError(f"--as-of {self.as_of} reads an earlier run's tables and writes none; "
                             f"run the stage that writes '{name}' without --as-of")

    def scratch_path(self, name: str) -> str:
        """A place for this run's intermediate files; dropped with the staging area."""
        return f"{self._run_dir}/_scratch/{name}"

    def read(self, name: str) -> DataFrame:
        staged = self._pending.get(name)
        if staged is None:
            return self._read_final(name)
        rows = self.spark.read.schema(staged.schema).parquet(staged.path)
        if staged.replace is None:
            return rows
        return self._kept(name, staged.replace).unionByName(rows)

    def read_previous(self, name: str) -> DataFrame | None:
        """Table `name` as the last run left it, or None when no run has written it."""
        return self._read_final(name) if self.exists(name) else None

    def _read_final(self, name: str) -> DataFrame:
        path = self.path(name)
        try:
            reader = self.spark.read.format(self.format)
            if self.format == "delta":
                version = self._version_to_read(name, path)
                self.versions[name] = version
                reader = reader.option("versionAsOf", version)
            return reader.load(path)
        except AnalysisException as exc:
            if self.as_of is not None and "time travel" in str(exc).lower():
                raise InputError(f"--as-of {self.as_of}: table '{name}' no longer holds that "
                                 f"version ({str(exc).splitlines()[0]}); output.history_days "
                                 "sets how long versions are kept") from None
            raise InputError(
                f"table '{name}' not found at {path}: run the stage that writes it "
                "first (python -m jobs.run_pipeline runs them all)"
            ) from None

    def _version_to_read(self, name: str, path: str) -> int:
        if self.as_of is None:
            return history.latest_version(self.spark, path)
        runs = history.run_versions(self.spark, path)
        if self.as_of not in runs:
            known = ", ".join(list(runs)[-10:]) or "none"
            raise InputError(f"--as-of {self.as_of}: table '{name}' has no version written by "
                             f"that run; runs it has (latest 10): {known}")
        return runs[self.as_of]

    def commit(self) -> list[str]:
        """Put every table of this run in place, then drop the staging area; their names.

        Delta tables are committed concurrently (each its own transaction): for small
        tables the time is mostly the driver's log handling, which overlaps well. The
        tables of `COMMIT_LAST` follow once all others are in place.
        """
        committed = list(self._pending)
        waves = [[n for n in committed if n not in COMMIT_LAST],
                 [n for n in committed if n in COMMIT_LAST]]
        if self.format == "delta":
            keep = history.retention_properties(self.out.history_days)
            with history.commits_of_run(self.spark, self.run_id, keep), \
                    ThreadPoolExecutor(max_workers=COMMIT_THREADS) as pool:
                self._refuse_foreign_tables(pool)
                for wave in waves:
                    versions = pool.map(self._commit_delta, wave)
                    self.versions.update(zip(wave, versions, strict=True))
        else:
            for name in waves[0] + waves[1]:
                self._commit_parquet(name)
        self._pending.clear()
        self._drop_stale_runs()
        self._drop_run_dir()
        return committed

    def _refuse_foreign_tables(self, pool: ThreadPoolExecutor) -> None:
        """Before anything is committed: no table written by another tool is replaced."""
        def conflict_of(name: str) -> str | None:
            final = self.path(name)
            if not self._fs.exists(self._jpath(f"{final}/_delta_log")):
                return None
            ours = {f.name: f.dataType.simpleString() for f in self._pending[name].schema.fields}
            return history.schema_conflict(self.spark, final, ours)

        names = list(self._pending)
        for name, conflict in zip(names, pool.map(conflict_of, names), strict=True):
            if conflict:
                final = self.path(name)
                raise InputError(
                    f"table '{name}' at {final} was written by another tool with a different "
                    f"schema ({conflict}); nothing was committed. Move that table elsewhere or "
                    "point output.path at another folder")

    def _commit_delta(self, name: str) -> int:
        """Write table `name`'s rows of this run in one transaction; its new version.

        A whole table is overwritten; a partition replacement overwrites only its
        partitions (Delta's replaceWhere, which also checks that every row belongs there).
        """
        final, staged = self.path(name), self._pending[name]
        keep = history.retention_properties(self.out.history_days)
        # Rows are needed to move: a partitioned table without any has no file to convert.
        if staged.rows and self._movable(final):
            return self._move_into_place(name, keep)
        existed = self._fs.exists(self._jpath(f"{final}/_delta_log"))
        options = dict(keep)
        if staged.replace is not None and staged.replace.values is not None:
            options["replaceWhere"] = _replace_where(staged.replace.column, staged.replace.values)
        else:
            options["overwriteSchema"] = "true"
        self.spark.read.schema(staged.schema).parquet(staged.path).write.format("delta").mode(
            "overwrite").partitionBy(*staged.partition_by).options(**options).save(final)
        if existed:  # properties given to a write take effect on a new table only
            history.keep_history(self.spark, final, keep)
        return history.latest_version(self.spark, final)

    def _movable(self, final: str) -> bool:
        """Nothing is at `final` yet, or only a move of ours that a killed driver left."""
        if not self._fs.exists(self._jpath(final)):
            return True
        if self._fs.exists(self._jpath(f"{final}/{MOVING}")):
            log.warning("removing %s, moved there by a run that did not finish", final)
            return bool(self._fs.delete(self._jpath(final), True))
        return False

    def _move_into_place(self, name: str, keep: dict[str, str]) -> int:
        """A new table: its staged Parquet files become the table without being rewritten.

        Copying the staged rows into Delta would write the largest table (settlement_rows)
        a second time on a first run; CONVERT TO DELTA only lists the files and commits
        them. Without file statistics: month and status filters prune by partition, and
        the statistics pass would read every row again (5 M rows: 7 s moved, 43 s with
        statistics, 65 s copied). The marker file says the folder is not a table yet.
        """
        final, staged = self.path(name), self._pending[name]
        self._fs.create(self._jpath(f"{staged.path}/{MOVING}"), True).close()
        self._fs.mkdirs(self._jpath(final).getParent())
        self._fs.rename(self._jpath(staged.path), self._jpath(final))
        columns = {f.name: f.dataType.simpleString() for f in staged.schema.fields}
        partitions = ", ".join(f"`{c}` {columns[c]}" for c in staged.partition_by)
        history.convert_in_place(self.spark, final, partitions)
        self._fs.delete(self._jpath(f"{final}/{MOVING}"), False)
        history.keep_history(self.spark, final, keep)
        return history.latest_version(self.spark, final)

    def _commit_parquet(self, name: str) -> None:
        final, previous = self.path(name), f"{self._run_dir}/_previous/{name}"
        if self._fs.exists(self._jpath(final)):
            self._fs.mkdirs(self._jpath(previous).getParent())
            self._fs.rename(self._jpath(final), self._jpath(previous))
        self._fs.rename(self._jpath(self._pending[name].path), self._jpath(final))

    def discard(self) -> None:
        self._pending.clear()
        self._drop_run_dir()

    def _drop_stale_runs(self) -> None:
        """Staged tables of runs that never committed (their driver was killed) are
        unreadable leftovers: drop them once a later run has committed."""
        staging = self._jpath(self.path("_staging"))
        if not self._fs.exists(staging):
            return
        for status in self._fs.listStatus(staging):
            if status.getPath().getName() != self.run_id:
                log.warning("removing %s, staged by a run that did not finish",
                            status.getPath().toString())
                self._fs.delete(status.getPath(), True)

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
