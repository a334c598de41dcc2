"""Keyed pseudonyms: HMAC-SHA256 of an identifier, as hex, truncated (ENISA's keyed hashing).

The same identifier gives the same pseudonym under one key, so distinct counts and the
duplicate check stay exact; without the key a pseudonym cannot be linked back (a plain
hash of a 12-digit visit id could be, by trying every id). Spark computes HMAC with its
built-in `sha2` on the key's inner and outer pads, which come from a one-row broadcast
table: the key is data of the plan, never a literal in it, so it cannot show in a plan,
log or error message.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType, StructField, StructType

_BLOCK = 64  # bytes: SHA-256's block size
_INNER, _OUTER = "_hmac_inner_pad", "_hmac_outer_pad"


def pseudonym(key: bytes, value: str, length: int) -> str:
    """The pseudonym of `value` (the pure core the Spark version is tested against)."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:length]


def key_check(key: bytes) -> str:
    """A short tag of the key for fingerprints (a new key tags every month again); it
    reveals nothing of the key."""
    return pseudonym(key, "catalogbridge key check", 16)


def _pads(key: bytes) -> tuple[bytes, bytes]:
    block = (hashlib.sha256(key).digest() if len(key) > _BLOCK else key).ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def hmac_hex(value: Column, inner_pad: Column, outer_pad: Column, length: int) -> Column:
    """HMAC-SHA256 of `value` (text, as UTF-8) from the key's pads, `length` hex digits."""
    inner = F.unhex(F.sha2(F.concat(inner_pad, value.cast("binary")), 256))
    return F.substring(F.sha2(F.concat(outer_pad, inner), 256), 1, length)


def pseudonymised(rows: DataFrame, *, columns: Sequence[str], key: bytes, length: int,
                  spark: SparkSession) -> DataFrame:
    """`rows` with each of `columns` replaced by its pseudonym; null and blank values stay
    as they are (the rules for missing identifiers still see them)."""
    inner, outer = _pads(key)
    schema = StructType([StructField(_INNER, BinaryType(), False),
                         StructField(_OUTER, BinaryType(), False)])
    pads = F.broadcast(spark.createDataFrame([(bytearray(inner), bytearray(outer))], schema))
    keyed = rows.crossJoin(pads)
    replaced = {c: F.when(F.trim(F.col(c)) == "", F.col(c)).otherwise(
        hmac_hex(F.col(c), F.col(_INNER), F.col(_OUTER), length)) for c in columns}
    return keyed.withColumns(replaced).drop(_INNER, _OUTER)


@dataclass(frozen=True)
class Pseudonymiser:
    """The columns to replace and the key (kept out of repr, so out of logs and errors)."""

    columns: tuple[str, ...]
    key: bytes = field(repr=False)
    length: int = 32

    def apply(self, rows: DataFrame, spark: SparkSession) -> DataFrame:
        return pseudonymised(rows, columns=self.columns, key=self.key, length=self.length,
                             spark=spark)

    @property
    def fingerprint(self) -> dict[str, object]:
        """What decides the pseudonyms, for the tagging fingerprint (a new key tags every
        month again), without the key."""
        return {"columns": list(self.columns), "length": self.length, "key": key_check(self.key)}
