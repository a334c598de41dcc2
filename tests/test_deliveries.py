"""Settlement deliveries: each file's month, the listing, and replacing some partitions."""

from __future__ import annotations

from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from catalogbridge.io.deliveries import SettlementSource, delivery_month
from catalogbridge.io.readers import InputError, InputSpec
from catalogbridge.io.store import OutputSettings, PartitionReplace, TableStore
from tests.cases import HEADER
from tests.conftest import TEST_PSEUDONYMS, pseudonym_of


@pytest.mark.parametrize(("path", "month"), [
    ("2023-03/part-1.csv", "2023-03"),
    ("settlements_202303.parquet", "2023-03"),
    ("fee_20230331.csv", "2023-03"),
    ("delivery=2023-12/data_0.parquet", "2023-12"),
    ("2023-03/re-sent_2023-04.csv", "2023-04"),     # the file's own name first
    ("part-00001.parquet", None),
    ("batch_2023.csv", None),                         # a year is not a month
    ("20231301.csv", None),                           # month 13 is not a month
])
def test_month_from_the_file_name_or_folder(path: str, month: str | None) -> None:
    assert delivery_month(path) == month


def test_listing_assigns_months_skips_hidden_files_and_numbers_rows(
        spark: SparkSession, tmp_path: Path) -> None:
    line = "{sn},S,V,P,330100,310100,21,SH01,心理咨询,100,2023-{m}-01,"
    for month in ("01", "02"):
        folder = tmp_path / f"2023-{month}"
        folder.mkdir()
        rows = [line.format(sn=f"{month}-{i}", m=month) for i in range(3)]
        (folder / "part.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    (tmp_path / "2023-01" / "_SUCCESS").write_text("")
    (tmp_path / ".part.csv.crc").write_text("")
    source = SettlementSource.open(spark, InputSpec(path=str(tmp_path), format="csv"), TEST_PSEUDONYMS)
    assert [(Path(f.path).parent.name, f.month) for f in source.files] == [
        ("2023-01", "2023-01"), ("2023-02", "2023-02")]
    got = source.read({"2023-02"}).select("feedetl_sn", "settlement_month", "_split_record")
    expected = spark.createDataFrame([(pseudonym_of(f"02-{i}"), "2023-02", i) for i in range(3)],
                                     "feedetl_sn string, settlement_month string, _split_record long")
    assert_df_equality(got, expected, ignore_nullable=True)
    with pytest.raises(InputError, match="no csv files"):
        SettlementSource.open(spark, InputSpec(path=str(tmp_path / "none"), format="csv"),
                              TEST_PSEUDONYMS)


@pytest.mark.parametrize("table_format", ["delta", "parquet"])
def test_partition_replacement(spark: SparkSession, tmp_path: Path, table_format: str) -> None:
    """Replacing February and the undated rows: January stays, February has its new rows, the
    undated partition is emptied; the run's own reads see the result before the commit;
    partition values stay text (never read back as dates)."""
    out = OutputSettings(path=str(tmp_path / "out"), format=table_format)
    schema = "month string, n long"
    first = TableStore(spark, out, "r1")
    rows = spark.createDataFrame([("2023-01", 1), ("2023-02", 2), (None, 3)], schema)
    first.write(rows, "t", ("month",))
    first.commit()
    second = TableStore(spark, out, "r2")
    new = PartitionReplace(spark.createDataFrame([("2023-02", 20)], schema), "month",
                           ("2023-02", None))
    assert second.write(new, "t", ("month",)) == (1 if table_format == "delta" else 2)
    expected = spark.createDataFrame([("2023-01", 1), ("2023-02", 20)], schema)
    assert_df_equality(second.read("t").select("month", "n"), expected, ignore_row_order=True,
                       ignore_nullable=True)
    second.commit()
    final = TableStore(spark, out, "r3").read("t").select("month", "n")
    assert_df_equality(final, expected, ignore_row_order=True, ignore_nullable=True)
    unchanged = TableStore(spark, out, "r4")
    assert unchanged.write(PartitionReplace(final.limit(0), "month", ()), "t", ("month",)) == 0
    assert unchanged.commit() == [], "nothing to replace: no commit"
