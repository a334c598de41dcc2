"""Reading inputs under the contract, and choosing the table format."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from catalogbridge.io import history
from catalogbridge.io.contracts import CATALOGS, NATIONAL_ITEMS
from catalogbridge.io.exports import export_csv
from catalogbridge.io.readers import InputError, InputSpec, read_input
from catalogbridge.io.store import MOVING, OutputSettings, TableStore, resolve_table_format


def test_csv_with_bom_renamed_headers_and_gb18030(spark: SparkSession, tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    text = "\ufeff行政区划, 项目编码,项目名称,医保等级\n330000,ZJ01,心理咨询（团体）,甲类\n"
    path.write_bytes(text.encode("gb18030"))
    spec = InputSpec(path=str(path), encoding="gb18030", columns={
        "行政区划": "admdvs", "项目编码": "item_code", "项目名称": "item_name",
        "医保等级": "chrgitm_lv"})
    row = read_input(spark, spec, CATALOGS).first()
    assert row is not None
    assert (row["admdvs"], row["item_code"], row["item_name"], row["chrgitm_lv"]) == (
        "330000", "ZJ01", "心理咨询（团体）", "甲类")
    assert row["national_code"] is None and row["price"] is None


def test_missing_column_names_file_column_and_fix(spark: SparkSession, tmp_path: Path) -> None:
    path = tmp_path / "national.csv"
    path.write_text("编码,item_name\n003101000010000,心理咨询\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_input(spark, InputSpec(path=str(path)), NATIONAL_ITEMS)
    message = str(err.value)
    assert str(path) in message
    assert "missing required column(s) item_code" in message
    assert "Columns found: 编码, item_name" in message
    assert "inputs.national_items.columns" in message


def test_missing_file_is_a_clear_error(spark: SparkSession, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"inputs\.national_items: cannot read"):
        read_input(spark, InputSpec(path=str(tmp_path / "nope.csv")), NATIONAL_ITEMS)


def test_xlsx_catalog(spark: SparkSession, tmp_path: Path) -> None:
    path = tmp_path / "catalog.xlsx"
    pd.DataFrame({"admdvs": ["310000"], "item_code": ["001"], "item_name": ["血常规检测"],
                  "chrgitm_lv": ["01"], "price": ["12.5"]}).to_excel(path, index=False)
    row = read_input(spark, InputSpec(path=str(path)), CATALOGS).first()
    assert row is not None
    assert (row["item_code"], row["chrgitm_lv"], row["price"]) == ("001", "01", 12.5)
    assert row["_source_file"].endswith("catalog.xlsx")


@pytest.mark.parametrize(("requested", "has_delta", "chosen"), [
    ("auto", True, "delta"), ("auto", False, "parquet"), ("parquet", True, "parquet"),
    ("delta", True, "delta"),
])
def test_table_format_choice(requested: str, has_delta: bool, chosen: str) -> None:
    assert resolve_table_format(requested, has_delta) == chosen


def test_delta_without_jars_is_an_error(spark: SparkSession) -> None:
    with pytest.raises(InputError, match="Delta Lake classes are not on the class path"):
        resolve_table_format("delta", False)


@pytest.mark.parametrize(("requested", "written", "relative"),
                         [("auto", "delta", False), ("parquet", "parquet", False),
                          ("auto", "delta", True)])
def test_tables_are_in_place_only_after_commit(spark: SparkSession, tmp_path: Path,
                                               requested: str, written: str,
                                               relative: bool) -> None:
    """`auto` writes Delta (make setup fetches its jars); the Parquet path still works; an
    output.path relative to the working folder (the demo's `output/demo`) too."""
    out = os.path.relpath(tmp_path) if relative else str(tmp_path)
    store = TableStore(spark, OutputSettings(path=out, format=requested))
    assert store.format == written
    assert store.write(spark.createDataFrame([(1,), (2,)], "x int"), "t") == 2
    assert sorted(r["x"] for r in store.read("t").collect()) == [1, 2]
    assert not (tmp_path / "t").exists(), "nothing is in place before commit"
    store.commit()
    assert (tmp_path / "t" / "_delta_log").is_dir() == (written == "delta")
    assert list((tmp_path / "t").glob("*.parquet"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"], "staging is cleaned up"


def test_a_new_table_is_moved_into_place_and_a_move_cut_short_is_redone(
        spark: SparkSession, tmp_path: Path) -> None:
    """A first commit makes the staged files the Delta table (the same files, not copies); a
    folder left by a driver killed mid-move is not a table and is replaced; a partitioned
    table without rows, which has no file to convert, is written instead."""
    out = OutputSettings(path=str(tmp_path), format="delta")
    store = TableStore(spark, out, "r1")
    rows = spark.createDataFrame([(1, "2023-01"), (2, None)], "n int, month string")
    store.write(rows, "t", ("month",))
    store.write(rows.limit(0), "empty", ("month",))
    staged = {p.name for p in (tmp_path / "_staging" / "r1" / "t").rglob("part-*.parquet")}
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / MOVING).write_text("")
    (tmp_path / "t" / "part-left-behind.parquet").write_text("not a table")
    assert not store.exists("t")
    store.commit()
    assert {p.name for p in (tmp_path / "t").rglob("part-*.parquet")} == staged
    assert not (tmp_path / "t" / MOVING).exists()
    read = TableStore(spark, out, "r2")
    assert sorted(read.read("t").collect(), key=str) == sorted(rows.collect(), key=str)
    assert read.read("empty").count() == 0
    assert history.run_versions(spark, str(tmp_path / "t")) == {"r1": 0}


def test_gb18030_file_read_as_utf8_says_which_encoding(spark: SparkSession, tmp_path: Path) -> None:
    path = tmp_path / "national.csv"
    path.write_bytes("item_code,item_name\n003101000010000,心理咨询\n".encode("gb18030"))
    with pytest.raises(InputError) as err:
        read_input(spark, InputSpec(path=str(tmp_path)), NATIONAL_ITEMS)
    message = str(err.value)
    assert f"inputs.national_items ({path}): byte 36 is not valid utf-8" in message
    assert "set inputs.national_items.encoding: gb18030" in message


def test_utf8_file_declared_gb18030(spark: SparkSession, tmp_path: Path) -> None:
    path = tmp_path / "national.csv"
    path.write_text("item_code,item_name\n003101000010000,心理咨询\n", encoding="utf-8")
    with pytest.raises(InputError, match="the file is UTF-8, not gb18030"):
        read_input(spark, InputSpec(path=str(path), encoding="gb18030"), NATIONAL_ITEMS)


def test_header_only_file_is_empty_input(spark: SparkSession, tmp_path: Path) -> None:
    path = tmp_path / "national.csv"
    path.write_text("item_code,item_name\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"\(.*national.csv\): no data rows"):
        read_input(spark, InputSpec(path=str(path)), NATIONAL_ITEMS)


def test_csv_export_to_a_relative_folder(spark: SparkSession, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """`output.path: output/demo` (the demo's) is relative to the working directory."""
    monkeypatch.chdir(tmp_path)
    df = spark.createDataFrame([("浙江", 2), ("上海", 1)], "region string, visits int")
    staging = tmp_path / "staging" / "t"  # on the table storage (the JVM's own working folder)
    target = export_csv(df, Path("out/exports/t.csv"), staging=str(staging), order=["visits"])
    assert (tmp_path / target).read_bytes() == "\ufeffregion,visits\n上海,1\n浙江,2\n".encode()
    assert not staging.exists(), "Spark's part files are removed after the copy"
