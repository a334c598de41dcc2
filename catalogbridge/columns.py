"""Column -> Column helpers for the paper's definitions, each small and tested on its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType, LongType

from catalogbridge.names import COVERED_LEVELS, DIAGNOSTIC, THERAPEUTIC

# Line fees are exact to the fen; sums get more integer digits.
FEE_TYPE = DecimalType(18, 2)
AMOUNT_TYPE = DecimalType(22, 2)

# Accepted spellings of 医保类别 (chrgitm_lv) -> canonical level code.
LEVEL_ALIASES: dict[str, str] = {
    "01": "01", "1": "01", "甲": "01", "甲类": "01",
    "02": "02", "2": "02", "乙": "02", "乙类": "02",
    "03": "03", "3": "03", "丙": "03", "丙类": "03", "自费": "03", "丙类/自费": "03",
}


def lookup(mapping: Mapping[str, str], key: Column) -> Column:
    """`mapping[key]` as a literal map: a handful of codes, so no join; unknown keys give null."""
    return F.create_map(*[F.lit(x) for kv in mapping.items() for x in kv])[key]


def amount(col: Column) -> Column:
    """A sum of yuan, exact to the fen."""
    return col.cast(AMOUNT_TYPE)


def measure(name: str, col: Column) -> Column:
    """A measure named `name`: fees (`fee...`) in yuan to the fen, anything else a count."""
    return (amount(col) if name.startswith("fee") else col.cast(LongType())).alias(name)


def is_region_code(code: Column) -> Column:
    """A 6-digit administrative division code (行政区划代码)."""
    return code.isNotNull() & code.rlike(r"^[0-9]{6}$")


def region_of(code: Column, level: str = "province") -> Column:
    """Province (`33xxxx` -> `330000`) or city (`3301xx` -> `330100`) of a 6-digit code."""
    keep = 2 if level == "province" else 4
    return F.when(is_region_code(code),
                  F.concat(F.substring(code, 1, keep), F.lit("0" * (6 - keep))))


def catalog_of(region: Column, catalogs: Sequence[str]) -> Column:
    """The catalog that settles an analysis region: its own, else its province's.

    `region` is an analysis region (a valid code or null); `catalogs` the catalog regions,
    a handful of values, so this is an expression rather than a join.
    """
    province = F.concat(F.substring(region, 1, 2), F.lit("0000"))
    return F.when(region.isin(*catalogs), region).when(province.isin(*catalogs), province)


def canonical_level(level: Column) -> Column:
    """Map 01/02/03, 甲/乙/丙/自费 and 甲类/乙类/丙类 to '01'/'02'/'03'; anything else is null."""
    return lookup(LEVEL_ALIASES, F.regexp_replace(F.trim(level), r"\s", ""))


def is_covered(level: Column) -> Column:
    """Covered by the fund: 甲类 (01) or 乙类 (02); 丙类 (03) and unknown are not."""
    return F.coalesce(level.isin(*COVERED_LEVELS), F.lit(False))


def class_l1(national_code: Column, offset: int = 2) -> Column:
    """Level-1 class: the first digit of the class part of the national code."""
    return F.substring(national_code, offset + 1, 1)


def class_l2(national_code: Column, offset: int = 2) -> Column:
    """Level-2 class: the first two digits of the class part of the national code."""
    return F.substring(national_code, offset + 1, 2)


def item_function(l1: Column, l2: Column) -> Column:
    """Diagnostic: level-1 class 1 or 2 except radiotherapy (24); everything else therapeutic."""
    return F.when(l1.isin("1", "2") & (l2 != "24"), F.lit(DIAGNOSTIC)).otherwise(
        F.lit(THERAPEUTIC))


def pct(part: Column, whole: Column) -> Column:
    """Percentage rounded to 2 decimals; null when the whole is zero."""
    return F.when(whole != 0, F.round(part.cast("double") * 100.0 / whole.cast("double"), 2))


_GENDER_CODES = {"1": "M", "男": "M", "m": "M", "male": "M", "2": "F", "女": "F", "f": "F",
                 "female": "F"}


def gender_of(gend: Column) -> Column:
    """'M' or 'F' from NHSA `gend` (1 male, 2 female) or 男/女; unknown codes give null."""
    return lookup(_GENDER_CODES, F.lower(F.trim(gend)))


def in_values(col: Column, values: Sequence[str | None]) -> Column:
    """`col` is one of `values`, None matching null (never null itself)."""
    known = [v for v in values if v is not None]
    test = col.isin(*known) if known else F.lit(False)
    return (test | col.isNull()) if None in values else F.coalesce(test, F.lit(False))
