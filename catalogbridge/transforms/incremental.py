"""Incremental runs: which delivery months a run tags again, so the result equals a full run.

A month is tagged again when its files are new, re-delivered (a file added, removed or
changed in size or modification time) or removed, or when anything that decides a row's
tags changed since it was tagged (the catalog mapping, the national codes, the supervision
lists, the cleaning settings, the cleaning code's TAGGING_VERSION: the `tagging` fingerprint). A stored
month that shares a serial number with the rows of such a month is tagged again too,
because the duplicate ranking may now keep a different row. Every other month keeps its
stored rows, which is exact: their tags depend only on their own rows and on rows that did
not change. What is collected here is bounded by the number of files and months.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from catalogbridge.columns import in_values
from catalogbridge.io.deliveries import DeliveredFile
from catalogbridge.names import MONTH, SERIAL
from catalogbridge.transforms.cleaning import serial_hash

NEW, REDELIVERED, REMOVED, RETAGGED, SHARED_SERIALS, UNCHANGED = (
    "new", "redelivered", "removed", "settings_changed", "shares_serials", "unchanged")

Month = str | None


@dataclass(frozen=True)
class PreviousFile:
    """A file as the previous run recorded it (table settlement_deliveries)."""

    path: str
    month: Month
    size_bytes: int
    modified_ms: int
    tagging: str
    tagged_run: str

    @property
    def signature(self) -> tuple[str, int, int]:
        return self.path, self.size_bytes, self.modified_ms


def month_changes(current: Sequence[DeliveredFile], previous: Sequence[PreviousFile] | None,
                  tagging: str) -> dict[Month, str]:
    """Each month's change since the previous run (every month is new on a first run)."""
    if previous is None:
        return {f.month: NEW for f in current}
    now: dict[Month, set[tuple[str, int, int]]] = {}
    before: dict[Month, set[tuple[str, int, int]]] = {}
    taggings: dict[Month, set[str]] = {}
    for f in current:
        now.setdefault(f.month, set()).add(f.signature)
    for p in previous:
        before.setdefault(p.month, set()).add(p.signature)
        taggings.setdefault(p.month, set()).add(p.tagging)
    changes: dict[Month, str] = {}
    for month in sorted({*now, *before}, key=str):
        if month not in before:
            changes[month] = NEW
        elif month not in now:
            changes[month] = REMOVED
        elif now[month] != before[month]:
            changes[month] = REDELIVERED
        elif taggings[month] != {tagging}:
            changes[month] = RETAGGED
        else:
            changes[month] = UNCHANGED
    return changes


def months_sharing_serials(stored: DataFrame, new_rows: DataFrame | None,
                           changed: Iterable[Month]) -> set[Month]:
    """Stored months outside `changed` with a serial number that the changed months' rows
    (as stored and as delivered now) also carry."""
    changed = list(changed)
    if not changed:
        return set()

    def hashes(rows: DataFrame) -> DataFrame:
        return rows.where(F.col(SERIAL).isNotNull()).select(serial_hash().alias("_sn"))

    touched = hashes(stored.where(in_values(F.col(MONTH), changed)))
    if new_rows is not None:
        touched = touched.unionByName(hashes(new_rows))
    others = stored.where(~in_values(F.col(MONTH), changed)).where(F.col(SERIAL).isNotNull())
    hits = others.join(touched.distinct(), serial_hash() == F.col("_sn"), "left_semi")
    return {row[0] for row in hits.select(MONTH).distinct().collect()}


def content_hash(df: DataFrame, columns: Sequence[str]) -> str:
    """An order-independent digest of `columns` over all rows (catalog-sized inputs)."""
    row = df.select(F.xxhash64(*columns).alias("h")).agg(
        F.count(F.lit(1)).alias("n"), F.sum(F.col("h").cast("decimal(38,0)")).alias("s")).first()
    assert row is not None
    return f"{row['n']}:{row['s']}"


def tagging_fingerprint(parts: Mapping[str, Any]) -> str:
    """A short digest of everything that decides a row's tags (JSON-able parts)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
