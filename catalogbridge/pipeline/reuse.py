"""Stages a run can skip: nothing they read changed since the run that wrote their tables.

A stage marked `reusable` in the stage table keeps its tables (and their versions) when its
fingerprint equals the one recorded by the run that wrote them, and those tables are still
as that run left them (their latest Delta commit is that run's). The fingerprint covers the
files of its raw inputs (path, size, modification time), the versions of the tables it
reads, its settings (with the size and modification time of every file a setting names)
and the package's own code, so an edited catalog, a new reviewer decision, a changed
setting or a new release all run the stage again. Re-matching a province's catalogs on
every monthly delivery is what this saves.

Fingerprints are kept in table `stage_inputs` (stage, fingerprint, run that wrote the
outputs), committed after every other table: a driver killed during the commit leaves a
record whose tables moved on, which is not reused. Delta only (Parquet tables carry no run
marker). What is collected: one row per stage.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StringType, StructField, StructType

import udfs
from catalogbridge.io.deliveries import file_statuses
from catalogbridge.io.readers import InputsSettings
from catalogbridge.io.store import TableStore
from catalogbridge.names import STAGE_INPUTS
from catalogbridge.pipeline.stages import VIEWS, Stage, is_table

RECORD_SCHEMA = StructType([StructField(name, StringType(), False)
                            for name in ("stage", "fingerprint", "run_id")])
# The code a stage runs: this package and the matcher core beside it (installed side by side).
_CODE = (Path(__file__).resolve().parents[1], Path(udfs.__file__).resolve().parent)
# Served per run (spark, run_id), or covered by the stage's own input files (inputs): they
# do not change what a stage computes.
_NOT_SETTINGS = ("spark", "run_id", "inputs")


@dataclass(frozen=True)
class Recorded:
    fingerprint: str
    run_id: str  # the run that wrote the stage's tables


@cache
def code_fingerprint() -> str:
    """A digest of our source: a new release (or any edit) runs every reusable stage again."""
    digest = hashlib.sha256()
    for package in _CODE:
        for file in sorted(package.rglob("*.py")):
            digest.update(f"{package.name}/{file.relative_to(package)}".encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def file_signatures(spark: SparkSession, path: str) -> list[tuple[str, int, int]]:
    """Path, size and modification time of every file under `path` (hidden ones included:
    they are few, and a changed one only means the stage runs again)."""
    return sorted((str(status.getPath().toString()), int(status.getLen()),
                   int(status.getModificationTime())) for status, _ in file_statuses(spark, path))


def _settings(value: Any) -> Any:
    """A conf section as JSON-able data, each file it names with its size and modification time."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _settings(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _settings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_settings(v) for v in value]
    if isinstance(value, str | Path) and str(value) and os.path.isfile(value):
        stat = os.stat(value)
        return [str(value), stat.st_size, stat.st_mtime_ns]
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def stage_fingerprint(spark: SparkSession, store: TableStore, inputs: InputsSettings,
                      stage: Stage, params: Mapping[str, Any],
                      origins: Mapping[str, str]) -> str | None:
    """What the stage would read and how it is set (`params`: its keywords' values).

    A table that a reusable stage wrote or kept in this run stands for that stage's
    fingerprint (`origins`), any other table for its committed version. None when the
    stage reads a table another stage wrote in this run, or anything else (then it always
    runs).
    """
    parts: dict[str, Any] = {"stage": stage.name, "code": code_fingerprint()}
    for keyword, ref in stage.inputs.items():
        if ref.startswith("input:"):
            spec = getattr(inputs, ref.removeprefix("input:"))
            parts[keyword] = [_settings(spec), file_signatures(spark, spec.path)]
            continue
        if not is_table(ref):
            return None
        table = VIEWS[ref].table if ref in VIEWS else ref
        placed = ("from", origins[table]) if table in origins else store.in_place(table)
        if placed is None:
            return None
        parts[keyword] = placed
    parts.update({name: _settings(value) for name, value in params.items()
                  if name not in _NOT_SETTINGS})
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def recorded_inputs(store: TableStore) -> dict[str, Recorded]:
    """The fingerprints the last run left (empty before the first run, or for Parquet)."""
    table = store.read_previous(STAGE_INPUTS) if store.format == "delta" else None
    if table is None:
        return {}
    return {row["stage"]: Recorded(row["fingerprint"], row["run_id"]) for row in table.collect()}


def kept_since(store: TableStore, stage: Stage, recorded: Recorded | None,
               fingerprint: str | None) -> str | None:
    """The run whose tables of `stage` this run keeps, or None when the stage must run."""
    tables = [ref for ref in stage.outputs if is_table(ref)]
    if recorded is None or fingerprint != recorded.fingerprint or not tables:
        return None
    for table in tables:
        placed = store.in_place(table)
        if placed is None or placed[1] != recorded.run_id:
            return None
    return recorded.run_id


def records_table(spark: SparkSession, records: Mapping[str, Recorded]) -> DataFrame:
    rows = [(stage, r.fingerprint, r.run_id) for stage, r in sorted(records.items())]
    return spark.createDataFrame(rows, RECORD_SCHEMA).coalesce(1)
