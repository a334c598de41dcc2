"""Settlement cleaning: map each row through its billing catalog and tag every rule it breaks.

The paper's rules (missing item code or name, fee <= 0, duplicate `feedetl_sn`), the scope
filters, the checks a row needs to be counted at all and the NHSA smart-supervision rules
(see `catalogbridge.quality.rules`). A row carries every `drop` reason it fails in `reasons`
and every `flag` in `flags`; rows without reasons are clean. Rules are Spark column
expressions, so nothing is collected.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType

from catalogbridge.columns import catalog_of, gender_of, region_of
from catalogbridge.names import (
    AGE_LIMITED_ITEM,
    AWAITING_REVIEW,
    CLEAN,
    DROP,
    DUPLICATE_FEEDETL_SN,
    FEE,
    FEE_NOT_POSITIVE,
    FLAG,
    GENDER_LIMITED_ITEM,
    INVALID_FEE,
    INVALID_REGION,
    INVALID_TIME,
    ITEM_NOT_IN_CATALOG,
    MAPPED_BY_CATALOG,
    MAPPED_BY_ROW_CODE,
    MED_TYPE_EXCLUDED,
    MISSING_FEE,
    MISSING_FEEDETL_SN,
    MISSING_ITEM_CODE,
    MISSING_ITEM_NAME,
    MISSING_VISIT_ID,
    MONTH,
    OUT_OF_PERIOD,
    QUARANTINED,
    RAW_SUFFIX,
    SERIAL,
    SOURCE_FILE,
    SOURCE_SPLIT,
    SPLIT_RECORD,
    STATUS,
    TIME,
    UNKNOWN_REGION,
)
from catalogbridge.privacy.settings import IDENTIFIERS
from catalogbridge.settings import SettingError, check_choice

REGION_LEVELS = ("province", "city")
# Part of every stored row's tagging fingerprint: raise it when a change to this module
# changes the tags of rows already stored, so incremental runs tag every month again.
TAGGING_VERSION = 3


@dataclass(frozen=True)
class Period:
    """On fee_ocur_time, both ends inclusive; None leaves that end open."""

    start: dt.date | None = None
    end: dt.date | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise SettingError("start", "is after end")


@dataclass(frozen=True)
class AnalysisSettings:
    """What is analysed: the region level, the period and the medical types (conf `analysis`)."""

    region_level: str = "province"
    period: Period = field(default_factory=Period)
    med_types: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_choice("region_level", self.region_level, REGION_LEVELS)


def with_regions(settlements: DataFrame, *, region_level: str) -> DataFrame:
    """Analysis regions of the insured place and of the treatment place."""
    return settlements.withColumns({
        "insured_admdvs": region_of(F.col("insuplc_admdvs"), region_level),
        "treatment_admdvs": region_of(F.col("mdtrtarea_admvs"), region_level),
    })


def with_item_mapping(settlements: DataFrame, *, catalogs: Sequence[str],
                      mapping: DataFrame, national_codes: DataFrame) -> DataFrame:
    """Look each row up in the catalog of the region where it was billed.

    Catalog items and national codes are catalog-sized, so both joins are broadcast joins and
    the settlement rows are not shuffled; `catalogs` is `mapping.catalog_region_list`.
    """
    located = settlements.withColumns({
        "billing_catalog_region": catalog_of(F.col("treatment_admdvs"), catalogs),
        "_insured_catalog": catalog_of(F.col("insured_admdvs"), catalogs),
    })
    items = F.broadcast(mapping.select(
        F.col("catalog_region").alias("billing_catalog_region"),
        F.col("local_code").alias("medins_list_codg"),
        F.lit(True).alias("_in_catalog"),
        F.col("national_code").alias("_catalog_code"),
    ))
    row_codes = F.broadcast(national_codes.select(
        F.col("national_code").alias("med_list_codg"), F.lit(True).alias("_row_code_known")))
    joined = (located.join(items, ["billing_catalog_region", "medins_list_codg"], "left")
              .join(row_codes, "med_list_codg", "left"))
    source = (F.when(F.col("_catalog_code").isNotNull(), F.lit(MAPPED_BY_CATALOG))
              .when(F.col("_row_code_known"), F.lit(MAPPED_BY_ROW_CODE))
              .when(F.col("_in_catalog"), F.lit(AWAITING_REVIEW)))
    row_code = F.when(F.col("_row_code_known"), F.col("med_list_codg"))
    return joined.withColumns({
        "national_code": F.coalesce(F.col("_catalog_code"), row_code),
        "mapping_source": source,
    })


def with_supervision_limits(settlements: DataFrame, *, limits: DataFrame | None) -> DataFrame:
    """Attach each row's item limits (gender, maximum age) from the smart-supervision lists."""
    if limits is None:
        return settlements.withColumns({"_limit_gender": F.lit(None).cast("string"),
                                        "_limit_age_max": F.lit(None).cast("int")})
    return settlements.join(F.broadcast(limits.select(
        "national_code", F.col("limit_gender").alias("_limit_gender"),
        F.col("limit_age_max").cast("int").alias("_limit_age_max"))), "national_code", "left")


def rule_checks(*, period_start: dt.date | None, period_end: dt.date | None,
                med_types: list[str]) -> list[tuple[str, Column]]:
    """(reason code, condition that is true when the row breaks the rule), on mapped rows."""
    def missing(name: str) -> Column:
        return F.col(name).isNull()

    fee_raw = F.col(FEE + RAW_SUFFIX)
    rules: list[tuple[str, Column]] = [
        (MISSING_ITEM_CODE, missing("medins_list_codg")),
        (MISSING_ITEM_NAME, missing("medins_list_name")),
        (MISSING_FEE, fee_raw.isNull()),
        (INVALID_FEE, fee_raw.isNotNull() & missing(FEE)),
        (FEE_NOT_POSITIVE, F.col(FEE) <= 0),
        (MISSING_FEEDETL_SN, missing("feedetl_sn")),
        (MISSING_VISIT_ID, missing("mdtrt_id")),
        (INVALID_TIME, missing(TIME)),
        # with_regions leaves a region null exactly when its code is not 6 digits.
        (INVALID_REGION, missing("insured_admdvs") | missing("treatment_admdvs")),
        (UNKNOWN_REGION, F.col("insured_admdvs").isNotNull()
         & F.col("treatment_admdvs").isNotNull()
         & (missing("billing_catalog_region") | missing("_insured_catalog"))),
        (ITEM_NOT_IN_CATALOG, F.col("medins_list_codg").isNotNull()
         & F.col("billing_catalog_region").isNotNull()
         & missing("_in_catalog") & missing("_row_code_known")),
    ]
    patient = gender_of(F.col("gend"))
    rules += [
        (GENDER_LIMITED_ITEM, ((F.col("_limit_gender") == "男") & (patient == "F"))
         | ((F.col("_limit_gender") == "女") & (patient == "M"))),
        (AGE_LIMITED_ITEM, F.col("age") > F.col("_limit_age_max")),
    ]
    if period_start is not None:
        rules.append((OUT_OF_PERIOD, F.col(TIME) < F.lit(period_start).cast("timestamp")))
    if period_end is not None:
        end = F.lit(period_end + dt.timedelta(days=1)).cast("timestamp")
        rules.append((OUT_OF_PERIOD, F.col(TIME) >= end))
    if med_types:
        rules.append((MED_TYPE_EXCLUDED, ~F.coalesce(F.col("med_type").isin(*med_types),
                                                    F.lit(False))))
    return rules


def with_reasons(settlements: DataFrame, *, rules: list[tuple[str, Column]],
                 severities: dict[str, str]) -> DataFrame:
    """Add `reasons` (drop rules broken) and `flags` (flag rules broken); disabled rules skip.

    Duplicate serial numbers are not checked here: they are ranked over all rows
    (`tag_with_duplicates`).
    """
    def broken(severity: str) -> Column:
        checks = [(code, F.coalesce(cond, F.lit(False))) for code, cond in rules
                  if severities.get(code) == severity]
        none = F.array().cast("array<string>")
        if not checks:
            return none
        hits = [F.when(cond, F.lit(code)) for code, cond in checks]
        codes = F.array_distinct(F.filter(F.array(*hits), lambda x: x.isNotNull()))
        # Array functions are interpreted, not compiled: build the array only for the few
        # rows that break a rule.
        return F.when(reduce(operator.or_, [cond for _, cond in checks]), codes).otherwise(none)

    return settlements.withColumns({"reasons": broken(DROP), "flags": broken(FLAG)})


def duplicate_target(severities: dict[str, str]) -> str | None:
    """Where a duplicate serial number is recorded: `reasons`, `flags`, or nowhere (off)."""
    severity = severities.get(DUPLICATE_FEEDETL_SN)
    return None if severity is None else "reasons" if severity == DROP else "flags"


# Identifiers are pseudonyms (catalogbridge.privacy), whose order changes with the key, so
# they take no part in choosing the kept copy: a new key must not change any result.
_DUPLICATE_ORDER = (TIME, "medins_list_codg", FEE, SOURCE_FILE)


def duplicate_ties(settlements: DataFrame) -> list[str]:
    """The input's remaining columns, then the row's position: a total order on rows.

    Computed from the rows as read (contract and lineage columns), which the stored
    settlement rows also carry, so rows tagged in an earlier run rank the same way.
    """
    skip = {*_DUPLICATE_ORDER, *IDENTIFIERS, MONTH, SOURCE_SPLIT, SPLIT_RECORD}
    data = [c for c in settlements.columns if c not in skip and not c.endswith(RAW_SUFFIX)
            and not isinstance(settlements.schema[c].dataType, ArrayType)]
    return [*data, SOURCE_SPLIT, SPLIT_RECORD]


def rank_duplicates(tagged: DataFrame, *, target: str, ties: Sequence[str],
                    rivals: DataFrame | None = None) -> DataFrame:
    """Of rows sharing a feedetl_sn keep one: a clean one if any, then the earliest line.

    The remaining columns and the row's position break ties, so the kept row does not
    depend on how rows are partitioned. `rivals` are stored rows of months not re-tagged
    in this run that share a serial number with `tagged`: they take part in the ranking
    (with their reasons before the duplicate check) but are not returned.
    """
    order_columns = ["feedetl_sn", "reasons", *_DUPLICATE_ORDER, *ties]
    ranked = tagged.withColumn("_rival", F.lit(False))
    if rivals is not None:
        ranked = ranked.unionByName(rivals.select(
            *[c for c in order_columns if c != "reasons"],
            F.array_remove("reasons", DUPLICATE_FEEDETL_SN).alias("reasons"),
            F.lit(True).alias("_rival")), allowMissingColumns=True)
    order = Window.partitionBy("feedetl_sn").orderBy(F.size("reasons"), *_DUPLICATE_ORDER, *ties)
    duplicate = F.col("feedetl_sn").isNotNull() & (F.row_number().over(order) > 1)
    return ranked.withColumn(target, F.when(
        duplicate, F.array_append(target, F.lit(DUPLICATE_FEEDETL_SN))
    ).otherwise(F.col(target))).where(~F.col("_rival")).drop("_rival")


def serial_hash(column: str = SERIAL) -> Column:
    return F.xxhash64(F.col(column))


def repeated_serials(settlements: DataFrame, others: DataFrame | None = None) -> DataFrame:
    """`_repeated_sn`: 64-bit hashes of the serial numbers on more than one row.

    Rows of `settlements` and of `others` (stored rows not re-tagged) count alike. Only
    this one long column is shuffled. A hash collision merely sends a few more rows
    through `rank_duplicates`, which ranks by the serial number itself, so it changes nothing.
    """
    def hashes(rows: DataFrame) -> DataFrame:
        return rows.where(F.col(SERIAL).isNotNull()).select(serial_hash().alias("_repeated_sn"))

    serials = hashes(settlements) if others is None else \
        hashes(settlements).unionByName(hashes(others))
    return serials.groupBy("_repeated_sn").count().where(F.col("count") > 1).select("_repeated_sn")


# Up to this many repeated serial numbers (8 bytes each) are broadcast to every task.
BROADCAST_REPEATED_MAX = 4_000_000


def tag_with_duplicates(settlements: DataFrame, *, tag: Callable[[DataFrame], DataFrame],
                        severities: dict[str, str], repeated: DataFrame | None = None,
                        others: DataFrame | None = None) -> DataFrame:
    """`tag` (mapping and rules, duplicates aside) every row, then check duplicate serials.

    The same rows as `tag` followed by `rank_duplicates` over all rows (with `others`, the
    stored rows not re-tagged, as rivals), without shuffling the rows: the repeated serial
    numbers (`repeated_serials`, best materialised first) are broadcast, rows whose serial
    is unique pass straight through, and only the rows carrying a repeated one are
    shuffled and ranked.
    """
    target = duplicate_target(severities)
    if target is None:
        return tag(settlements)
    repeated = repeated_serials(settlements, others) if repeated is None else repeated
    if repeated.count() <= BROADCAST_REPEATED_MAX:
        repeated = F.broadcast(repeated)
    same = serial_hash() == F.col("_repeated_sn")
    once = tag(settlements.join(repeated, same, "left_anti"))
    rivals = None if others is None else others.join(repeated, same, "left_semi")
    again = tag(settlements.join(repeated, same, "left_semi")).transform(
        rank_duplicates, target=target, ties=duplicate_ties(settlements), rivals=rivals)
    return once.unionByName(again)


def tag_settlements(settlements: DataFrame, *, catalogs: Sequence[str], mapping: DataFrame,
                    national_codes: DataFrame, limits: DataFrame | None,
                    analysis: AnalysisSettings, severities: dict[str, str],
                    repeated: DataFrame | None = None,
                    others: DataFrame | None = None) -> DataFrame:
    """Every settlement row mapped through its billing catalog, with its reasons and flags.

    Duplicate serial numbers are ranked among the rows whose serial repeats only
    (`tag_with_duplicates`), together with `others` (stored rows of months this run keeps);
    `repeated` is `repeated_serials(settlements, others)`, best materialised by the caller
    since both branches read it.
    """
    rules = rule_checks(period_start=analysis.period.start, period_end=analysis.period.end,
                        med_types=analysis.med_types)
    checks = {code: sev for code, sev in severities.items() if code != DUPLICATE_FEEDETL_SN}

    def tag(rows: DataFrame) -> DataFrame:
        return (
            rows.transform(with_regions, region_level=analysis.region_level)
            .transform(with_item_mapping, catalogs=catalogs, mapping=mapping,
                       national_codes=national_codes)
            .transform(with_supervision_limits, limits=limits)
            .transform(with_reasons, rules=rules, severities=checks)
        )

    return tag_with_duplicates(settlements, tag=tag, severities=severities, repeated=repeated,
                               others=others)


_HELPER_COLUMNS = ("_insured_catalog", "_in_catalog", "_catalog_code", "_row_code_known",
                   "_limit_gender", "_limit_age_max")


def settlement_rows(tagged: DataFrame) -> DataFrame:
    """Tagged rows as stored: each with its `status`; raw text kept (as text) for quarantined
    rows only, where it shows what could not be read."""
    quarantined = F.size("reasons") > 0
    raw = {c: F.when(quarantined, F.col(c).cast("string"))
           for c in tagged.columns if c.endswith(RAW_SUFFIX)}
    return tagged.withColumns({
        STATUS: F.when(quarantined, F.lit(QUARANTINED)).otherwise(F.lit(CLEAN)), **raw,
    }).drop(*_HELPER_COLUMNS)


def clean_rows(rows: DataFrame) -> DataFrame:
    """The clean rows of `settlement_rows` (the `settlements_clean` view)."""
    raw = [c for c in rows.columns if c.endswith(RAW_SUFFIX)]
    return rows.where(F.col(STATUS) == CLEAN).drop(
        "reasons", STATUS, SOURCE_SPLIT, SPLIT_RECORD, *raw)


def quarantined_rows(rows: DataFrame) -> DataFrame:
    """The quarantined rows of `settlement_rows` with their first reason and `source_row`,
    the row's number in its file (the header not counted; the `settlements_quarantine` view)."""
    quarantined = rows.where(F.col(STATUS) == QUARANTINED)
    return (quarantined.transform(with_source_rows, rows=rows)
            .withColumn("reason", F.col("reasons")[0])
            .drop("national_code", "mapping_source", STATUS, SOURCE_SPLIT, SPLIT_RECORD))


def with_source_rows(selected: DataFrame, *, rows: DataFrame) -> DataFrame:
    """`source_row`: 1 + the rows of earlier splits of the same file + the row's place in its split.

    Counts the rows (any status) of the files `selected` comes from, per split: a table
    bounded by the number of file splits.
    """
    files = selected.select(SOURCE_FILE).distinct()
    splits = rows.join(files, SOURCE_FILE, "left_semi").groupBy(SOURCE_FILE, SOURCE_SPLIT).count()
    earlier = Window.partitionBy(SOURCE_FILE).orderBy(SOURCE_SPLIT).rowsBetween(
        Window.unboundedPreceding, -1)
    offsets = splits.select(SOURCE_FILE, SOURCE_SPLIT, F.coalesce(
        F.sum("count").over(earlier), F.lit(0)).alias("_rows_before"))
    return (selected.join(F.broadcast(offsets), [SOURCE_FILE, SOURCE_SPLIT], "left")
            .withColumn("source_row", F.col("_rows_before") + F.col(SPLIT_RECORD) + 1)
            .drop("_rows_before"))
