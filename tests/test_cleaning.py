"""Each cleaning rule on its own row; a row that breaks several rules carries them all."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from catalogbridge.io.contracts import SETTLEMENTS
from catalogbridge.io.readers import conform_to_contract
from catalogbridge.matching.catalog import catalog_region_list
from catalogbridge.names import SOURCE_FILE
from catalogbridge.quality.rules import RuleSettings, rule_severities
from catalogbridge.transforms.cleaning import (
    AnalysisSettings,
    Period,
    clean_rows,
    duplicate_target,
    duplicate_ties,
    quarantined_rows,
    rank_duplicates,
    rule_checks,
    settlement_rows,
    tag_settlements,
    with_item_mapping,
    with_reasons,
    with_regions,
    with_supervision_limits,
)

COLUMNS = ["feedetl_sn", "mdtrt_id", "insuplc_admdvs", "mdtrtarea_admvs", "med_type",
           "medins_list_codg", "medins_list_name", "det_item_fee_sumamt", "fee_ocur_time",
           "med_list_codg", "gend", "age"]
OK = ("V", "330100", "310100", "21", "SH01", "心理咨询", "100", "2023-06-01 08:00:00", None, "1", "40")
ROWS = [
    ("1", *OK),
    ("2", "V", "330100", "310100", "21", None, "心理咨询", "100", "2023-06-01", None, "1", "40"),
    ("3", "V", "330100", "310100", "21", "SH01", None, "100", "2023-06-01", None, "1", "40"),
    ("4", "V", "330100", "310100", "21", "SH01", "心理咨询", "0", "2023-06-01", None, "1", "40"),
    ("5", "V", "330100", "310100", "21", "SH01", "心理咨询", "-20.5", "2023-06-01", None, "1", "40"),
    ("6", "V", "330100", "310100", "21", "SH01", "心理咨询", "12元", "2023-06-01", None, "1", "40"),
    ("7", "V", "330100", "310100", "21", "SH01", "心理咨询", None, "2023-06-01", None, "1", "40"),
    ("8", "V", "330100", "310100", "21", "SH01", "心理咨询", "100", "2022-12-31 23:59:59", None, "1", "40"),
    ("9", "V", "330100", "310100", "21", "SH01", "心理咨询", "100", "2023-12-31 23:59:59", None, "1", "40"),
    ("10", "V", "330100", "310100", "21", "SH01", "心理咨询", "100", "2024-01-01 00:00:00", None, "1", "40"),
    ("11", "V", "330100", "310100", "21", "SH01", "心理咨询", "100", "not a date", None, "1", "40"),
    ("12", "V", "33A100", "310100", "21", "SH01", "心理咨询", "100", "2023-06-01", None, "1", "40"),
    ("13", "V", "990100", "310100", "21", "SH01", "心理咨询", "100", "2023-06-01", None, "1", "40"),
    ("14", "V", "330100", "310100", "21", "XX99", "不在目录", "100", "2023-06-01", None, "1", "40"),
    ("15", "V", "330100", "310100", "21", "XX99", "不在目录", "100", "2023-06-01", "003101000010000", "1",
     "40"),
    ("16", "V", "330100", "310100", "11", "SH01", "心理咨询", "100", "2023-06-01", None, "1", "40"),
    ("17", None, "330100", "310100", "21", "SH01", "心理咨询", "100", "2023-06-01", None, "1", "40"),
    ("1", *OK),                                                   # re-sent copy of line 1
    ("18", "V", "330100", "310100", "21", None, None, "0", "2023-06-01", None, "1", "40"),  # three reasons
    ("19", "V", "330100", "310100", "21", None, "心理咨询", "50", "2023-06-01", None, "1", "40"),
    ("19", "V", "330100", "310100", "21", "SH01", "心理咨询", "50", "2023-06-01", None, "1", "40"),

    # Smart supervision: SH02 is limited to women, SH03 to children (at most 17 years old).
    ("20", "V", "330100", "310100", "21", "SH02", "宫颈刮片", "30", "2023-06-01", None, "1", "40"),
    ("21", "V", "330100", "310100", "21", "SH02", "宫颈刮片", "30", "2023-06-01", None, "2", "40"),
    ("22", "V", "330100", "310100", "21", "SH03", "儿童龋齿预防", "30", "2023-06-01", None, "2", "18"),
    ("23", "V", "330100", "310100", "21", "SH03", "儿童龋齿预防", "30", "2023-06-01", None, "2", "17"),
    ("24", "V", "330100", "310100", "21", "SH02", "宫颈刮片", "0", "2023-06-01", None, "男", None),
]


def settlements(spark: SparkSession) -> DataFrame:
    schema = StructType([StructField(c, StringType()) for c in COLUMNS])
    raw = spark.createDataFrame(ROWS, schema)
    raw = raw.withColumns({"setl_id": F.lit("S"), "psn_no": F.lit("P"),
                           SOURCE_FILE: F.lit("f.csv")})
    return conform_to_contract(raw, SETTLEMENTS)


ANALYSIS = AnalysisSettings(period=Period(dt.date(2023, 1, 1), dt.date(2023, 12, 31)),
                            med_types=["21"])


def references(spark: SparkSession) -> tuple[DataFrame, DataFrame, DataFrame]:
    """Catalog mapping, national codes and smart-supervision limits of the rows above."""
    mapping = spark.createDataFrame(
        [("310000", "SH01", "003101000010000"), ("330000", "ZJ01", "003101000010000"),
         ("310000", "SH02", "002703000010000"), ("310000", "SH03", "001302000010000")],
        "catalog_region string, local_code string, national_code string")
    national = spark.createDataFrame([("003101000010000",)], "national_code string")
    limits = spark.createDataFrame([("002703000010000", "女", None), ("001302000010000", None, 17)],
                                   "national_code string, limit_gender string, limit_age_max int")
    return mapping, national, limits


def tagged(spark: SparkSession, severities: dict[str, str] | None = None) -> DataFrame:
    """Every row of ROWS tagged, duplicates ranked among all rows (the plain plan, one
    shuffle of every row: the reference the pipeline's plan is compared with)."""
    severities = severities if severities is not None else rule_severities({})
    mapping, national, limits = references(spark)
    rules = rule_checks(period_start=ANALYSIS.period.start, period_end=ANALYSIS.period.end,
                        med_types=ANALYSIS.med_types)
    rows = settlements(spark)
    tagged = (rows.transform(with_regions, region_level="province")
              .transform(with_item_mapping, catalogs=catalog_region_list(mapping),
                         mapping=mapping, national_codes=national)
              .transform(with_supervision_limits, limits=limits)
              .transform(with_reasons, rules=rules, severities=severities))
    target = duplicate_target(severities)
    return tagged if target is None else tagged.transform(
        rank_duplicates, target=target, ties=duplicate_ties(rows))


def test_reasons_row_by_row(spark: SparkSession) -> None:
    got = tagged(spark).select("feedetl_sn", F.array_sort("reasons").alias("reasons"),
                               F.array_sort("flags").alias("flags"))
    drops = {
        "1": [], "2": ["missing_item_code"], "3": ["missing_item_name"],
        "4": ["fee_not_positive"], "5": ["fee_not_positive"], "6": ["invalid_fee"],
        "7": ["missing_fee"], "8": ["out_of_period"], "9": [], "10": ["out_of_period"],
        "11": ["invalid_time"], "12": ["invalid_region"], "13": ["unknown_region"],
        "14": ["item_not_in_catalog"], "15": [], "16": ["med_type_excluded"],
        "17": ["missing_visit_id"],
        "18": ["fee_not_positive", "missing_item_code", "missing_item_name"],
        "20": [], "21": [], "22": [], "23": [], "24": ["fee_not_positive"],
    }
    flags = {"20": ["gender_limited_item"], "22": ["age_limited_item"],
             "24": ["gender_limited_item"]}
    rows = [(sn, reasons, flags.get(sn, [])) for sn, reasons in drops.items()]
    # A re-sent copy of line 1 and, of two lines with one serial number, the clean one is kept.
    rows += [("1", ["duplicate_feedetl_sn"], []), ("19", ["duplicate_feedetl_sn", "missing_item_code"], []),
             ("19", [], [])]
    expected = spark.createDataFrame(rows, "feedetl_sn string, reasons array<string>, "
                                           "flags array<string>")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_clean_and_quarantine_split_every_row_once(spark: SparkSession) -> None:
    rows = tagged(spark).transform(settlement_rows).cache()
    clean = rows.transform(clean_rows)
    quarantine = rows.transform(quarantined_rows)
    assert clean.count() + quarantine.count() == len(ROWS)
    got = clean.select("feedetl_sn", "national_code", "mapping_source")
    expected = spark.createDataFrame([
        ("1", "003101000010000", "catalog"), ("9", "003101000010000", "catalog"),
        ("15", "003101000010000", "row_national_code"), ("19", "003101000010000", "catalog"),
        ("20", "002703000010000", "catalog"), ("21", "002703000010000", "catalog"),
        ("22", "001302000010000", "catalog"), ("23", "001302000010000", "catalog"),
    ], "feedetl_sn string, national_code string, mapping_source string")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
    raw_fee = quarantine.where("feedetl_sn = '6'").select("det_item_fee_sumamt__raw").first()
    assert raw_fee is not None and raw_fee[0] == "12元", "quarantine keeps the unparsed value"


def test_rules_can_be_switched_off_or_set_to_flag(spark: SparkSession) -> None:
    severities = rule_severities({
        "fee_not_positive": RuleSettings(severity="flag"),
        "duplicate_feedetl_sn": RuleSettings(enabled=False),
        "gender_limited_item": RuleSettings(severity="drop"),
    })
    got = (tagged(spark, severities).where(F.col("feedetl_sn").isin("1", "4", "20", "24"))
           .select("feedetl_sn", F.array_sort("reasons").alias("reasons"),
                   F.array_sort("flags").alias("flags")))
    expected = spark.createDataFrame([
        ("1", [], []), ("1", [], []), ("4", [], ["fee_not_positive"]),
        ("20", ["gender_limited_item"], []), ("24", ["gender_limited_item"], ["fee_not_positive"]),
    ], "feedetl_sn string, reasons array<string>, flags array<string>")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_ranking_only_repeated_serials_keeps_the_same_rows(spark: SparkSession) -> None:
    """The pipeline's plan shuffles only rows whose serial repeats; every row ends up the same
    as when all rows are ranked by serial number."""
    mapping, national, limits = references(spark)
    lean = tag_settlements(settlements(spark), catalogs=catalog_region_list(mapping),
                           mapping=mapping, national_codes=national, limits=limits,
                           analysis=ANALYSIS, severities=rule_severities({}))
    assert_df_equality(lean, tagged(spark), ignore_row_order=True, ignore_nullable=True)


def test_stored_rows_of_other_months_take_part_in_the_duplicate_ranking(
        spark: SparkSession) -> None:
    """A serial number already stored (clean, earlier) makes the newly delivered copy the
    duplicate; the stored row itself is not returned."""
    mapping, national, limits = references(spark)
    rows = settlements(spark).where("feedetl_sn IN ('9', '15')")
    stored = tag_settlements(
        settlements(spark).where("feedetl_sn = '1'").limit(1).withColumn(
            "fee_ocur_time", F.lit("2023-01-01 00:00:00").cast("timestamp"))
        .withColumn("feedetl_sn", F.lit("9")), catalogs=catalog_region_list(mapping),
        mapping=mapping, national_codes=national, limits=limits, analysis=ANALYSIS,
        severities=rule_severities({})).transform(settlement_rows)
    got = tag_settlements(rows, catalogs=catalog_region_list(mapping), mapping=mapping,
                          national_codes=national, limits=limits, analysis=ANALYSIS,
                          severities=rule_severities({}), others=stored)
    expected = spark.createDataFrame([("9", ["duplicate_feedetl_sn"]), ("15", [])],
                                     "feedetl_sn string, reasons array<string>")
    assert_df_equality(got.select("feedetl_sn", "reasons"), expected, ignore_row_order=True,
                       ignore_nullable=True)
