"""Settlement deliveries: the files behind `inputs.settlements`, each with its month.

Provinces deliver settlement rows month by month; a file's month is read from its name or
from the folder it sits in (`2023-03/part-1.csv`, `settlements_202303.parquet`,
`fee_20230331.csv`). Files whose names carry no month form one undated delivery. The
listing (path, size, modification time) is what an incremental run compares with the files
it tagged before: it is on the driver and bounded by the number of files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from catalogbridge.io.contracts import SETTLEMENTS
from catalogbridge.io.readers import EXTENSIONS, InputError, InputSpec, read_input, resolve_input_format
from catalogbridge.names import MONTH, SOURCE_FILE
from catalogbridge.privacy.pseudonyms import Pseudonymiser

_MONTH = re.compile(r"(?<!\d)(20\d{2})[-_.]?(0[1-9]|1[0-2])(?:[-_.]?(?:0[1-9]|[12]\d|3[01]))?(?!\d)")

DELIVERY_SCHEMA = StructType([
    StructField(SOURCE_FILE, StringType(), False),
    StructField(MONTH, StringType(), True),
    StructField("size_bytes", LongType(), False),
    StructField("modified_ms", LongType(), False),  # epoch milliseconds, as the file system says
])


def delivery_month(relative_path: str) -> str | None:
    """`yyyy-mm` from the file name, else from the nearest folder that names one; else None."""
    for part in reversed(relative_path.replace("\\", "/").split("/")):
        found = _MONTH.search(part)
        if found:
            return f"{found.group(1)}-{found.group(2)}"
    return None


@dataclass(frozen=True)
class DeliveredFile:
    path: str  # URI, as Spark's input_file_name() gives it
    month: str | None
    size_bytes: int
    modified_ms: int

    @property
    def signature(self) -> tuple[str, int, int]:
        """What tells a re-delivered file from the one tagged before."""
        return self.path, self.size_bytes, self.modified_ms


def file_statuses(spark: SparkSession, path: str) -> Iterator[tuple[Any, Any]]:
    """(Hadoop file status, the folder it was found under) of every file under `path` (a
    file, folder tree or glob), as the file system lists them."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    root = jvm.org.apache.hadoop.fs.Path(path)
    fs = root.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    for status in fs.globStatus(root) or []:
        base = status.getPath()
        if status.isDirectory():
            listing = fs.listFiles(base, True)
            while listing.hasNext():
                yield listing.next(), base
        else:
            yield status, base.getParent()


def list_deliveries(spark: SparkSession, spec: InputSpec, fmt: str) -> list[DeliveredFile]:
    """Every data file under `spec.path` (a file, folder tree or glob), sorted by path."""
    found: list[DeliveredFile] = []
    for status, base in file_statuses(spark, spec.path):
        found += _delivered(status, base, fmt)
    if not found:
        raise InputError(f"inputs.settlements: no {fmt} files at {spec.path!r}; check the path "
                         f"(files ending {', '.join(e for e, f in EXTENSIONS.items() if f == fmt)})")
    return sorted(found, key=lambda f: f.path)


def _delivered(status: Any, base: Any, fmt: str) -> list[DeliveredFile]:
    path = status.getPath()
    relative = str(path.toUri().getPath()).removeprefix(str(base.toUri().getPath())).lstrip("/")
    parts = relative.split("/")
    if any(p.startswith(("_", ".")) for p in parts):  # _SUCCESS, .crc, _delta_log, ...
        return []
    suffix = "." + parts[-1].rsplit(".", 1)[-1].lower() if "." in parts[-1] else ""
    if EXTENSIONS.get(suffix) != fmt:
        return []
    return [DeliveredFile(str(path.toUri().toString()), delivery_month(relative),
                          int(status.getLen()), int(status.getModificationTime()))]


@dataclass(frozen=True)
class SettlementSource:
    """The settlement files of this run, readable month by month; identifiers come out as
    keyed pseudonyms, so no raw one reaches a table, a staging area or a log."""

    spark: SparkSession
    spec: InputSpec
    files: tuple[DeliveredFile, ...]
    pseudonyms: Pseudonymiser

    @classmethod
    def open(cls, spark: SparkSession, spec: InputSpec,
             pseudonyms: Pseudonymiser) -> SettlementSource:
        known = SETTLEMENTS.columns
        unknown = [c for c in pseudonyms.columns if c not in known]
        if unknown:
            raise InputError(
                f"privacy.pseudonymise lists {', '.join(unknown)}, which settlement rows do not "
                f"have (their columns: {', '.join(known)}); remove it, or map your header to a "
                "contract column with inputs.settlements.columns")
        fmt = resolve_input_format(spec, SETTLEMENTS.name)
        return cls(spark, spec, tuple(list_deliveries(spark, spec, fmt)), pseudonyms)

    @property
    def months(self) -> set[str | None]:
        return {f.month for f in self.files}

    def listing(self) -> DataFrame:
        """One row per file: path, month, size, modification time."""
        return self.spark.createDataFrame(
            [(f.path, f.month, f.size_bytes, f.modified_ms) for f in self.files], DELIVERY_SCHEMA)

    def read(self, months: set[str | None] | None = None) -> DataFrame:
        """The rows of the files of `months` (all by default), with their `settlement_month`."""
        chosen = [f for f in self.files if months is None or f.month in months]
        if not chosen:
            raise InputError(f"inputs.settlements ({self.spec.path}): no file of month(s) "
                             f"{sorted(str(m) for m in months or ())}")
        rows = read_input(self.spark, self.spec, SETTLEMENTS, files=[f.path for f in chosen])
        return self.pseudonyms.apply(rows, self.spark) \
            .withColumn(MONTH, month_of_file(F.col(SOURCE_FILE), chosen))


def month_of_file(path: Column, files: list[DeliveredFile]) -> Column:
    """The month of each row's file: a literal map (bounded by the number of files)."""
    dated = [(f.path, f.month) for f in files if f.month is not None]
    if not dated:
        return F.lit(None).cast(StringType())
    pairs = [F.lit(v) for item in dated for v in item]
    return F.try_element_at(F.create_map(*pairs), path)
