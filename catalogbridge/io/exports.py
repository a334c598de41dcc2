"""Published files on the driver's disk: Excel-friendly CSV written by Spark, JSON and text.

A CSV export is sorted and written by one Spark task, then copied to `output.exports`
with a UTF-8 byte-order mark so Excel shows Chinese: nothing of the table is collected on
the driver, so a pair x item table at city level (~10^5 pairs) exports as easily as a small one.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame

BOM = "\ufeff".encode()
_COPY_CHUNK = 1 << 20


def export_csv(df: DataFrame, target: Path, *, staging: str, order: Sequence[str] = (),
               present: Callable[[DataFrame], DataFrame] | None = None) -> Path:
    """Write `df` as one CSV file at `target` (header, RFC 4180 quoting, UTF-8 with BOM).

    `staging` is a directory on the table storage for Spark's part file; it is removed after
    the copy. `present` turns the sorted rows into what the file shows (titles, names), row
    order kept.
    """
    ordered = df.repartition(1).sortWithinPartitions(*order) if order else df.repartition(1)
    if present is not None:
        ordered = present(ordered)
    df = ordered  # the header of an empty table is the presented one
    ordered.write.mode("overwrite").options(header=True, quote='"', escape='"',
                                            encoding="UTF-8").csv(staging)
    spark = df.sparkSession
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    source = jvm.org.apache.hadoop.fs.Path(staging)
    fs = source.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    parts = sorted(str(status.getPath()) for status in fs.listStatus(source)
                   if status.getPath().getName().startswith("part-"))
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch, \
            target.open("wb") as out:
        out.write(BOM)
        if not parts:  # an empty table: the header alone
            out.write((",".join(df.columns) + "\n").encode())
        for number, part in enumerate(parts):
            local = Path(scratch) / f"part-{number}.csv"
            fs.copyToLocalFile(False, jvm.org.apache.hadoop.fs.Path(part),
                               jvm.org.apache.hadoop.fs.Path(local.resolve().as_uri()), True)
            with local.open("rb") as handle:
                shutil.copyfileobj(handle, out, _COPY_CHUNK)
    fs.delete(source, True)
    return target


def write_json(payload: Any, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str),
                      encoding="utf-8")
    return target


def write_text(text: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
