"""Readable exports: Chinese titles, names beside codes, yuan with two decimals — and back."""

from __future__ import annotations

import pandas as pd
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from catalogbridge.reports.titles import COLUMN_TITLES, csv_frame, readable, technical_frame

NAMES = {"330000": "浙江省", "310000": "上海市"}


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "insured_admdvs": ["330000", "330100", None],
        "national_code": ["001102000040000", "003115010010000", "310100001"],
        "class_l1": ["3", "9", None],
        "function": ["therapeutic", "diagnostic", None],
        "reason": ["fee_not_positive", "fee_not_positive", "new_rule"],
        "visits": ["12", "*", None],
        "added_spend": [1234.5, None, 3.0],
        "visit_share": [1.2e-5, 0.5, None],
    })


def test_csv_frame_names_codes_formats_yuan_and_titles_columns() -> None:
    expected = pd.DataFrame({
        "参保地": ["浙江省 330000", "浙江 330100", None],
        "国家编码": ["001102000040000", "003115010010000", "310100001"],
        "一级分类": ["3 临床诊疗类", "9", None],
        "项目功能": ["治疗性项目", "诊断性项目", None],
        "原因": ["fee_not_positive 费用非正（退费等）", "fee_not_positive 费用非正（退费等）", "new_rule"],
        "就诊人次": ["12", "*", None],
        "新增医保支出（元）": ["1234.50", None, "3.00"],
        "人次占比": ["0.000012", "0.5", None],
    }, dtype=object)
    pd.testing.assert_frame_equal(csv_frame(_frame(), NAMES), expected)


def test_technical_frame_gives_back_the_names_and_codes() -> None:
    back = technical_frame(csv_frame(_frame(), NAMES))
    assert list(back.columns) == list(_frame().columns)
    for column in ("insured_admdvs", "national_code", "class_l1", "function", "reason", "visits"):
        assert back[column].tolist() == _frame()[column].tolist(), column


def test_titles_are_distinct() -> None:
    titles = list(COLUMN_TITLES.values())
    assert len(set(titles)) == len(titles)


def test_readable_in_spark_keeps_row_order_and_whole_counts(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [("310000", 3, None, 55.0), ("330000", None, 12, 1234567.891), ("330000", 7, 1, None)],
        "treatment_admdvs string, scheme int, visits long, added_spend double")
    expected = spark.createDataFrame(
        [("上海市 310000", "3", None, "55.00"), ("浙江省 330000", None, "12", "1234567.89"),
         ("浙江省 330000", "7", "1", None)],
        "`就医地` string, `方案` string, `就诊人次` string, `新增医保支出（元）` string")
    shown = readable(df.repartition(1).sortWithinPartitions("treatment_admdvs", "scheme"),
                     region_names=NAMES)
    assert_df_equality(shown, expected, ignore_nullable=True)
