"""No raw identifier leaves: every table, export, report and log of a run on generated data
is scanned for the input's psn_no, mdtrt_id and setl_id values; a new key changes the
pseudonyms and nothing else."""

from __future__ import annotations

import re
from functools import reduce
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType

from catalogbridge.pipeline.runner import read_table
from catalogbridge.pipeline.stages import STAGES
from catalogbridge.privacy.pseudonyms import pseudonym
from jobs import run_pipeline
from tests.conftest import TEST_KEY, Case, copy_case

IDENTIFIERS = ("psn_no", "mdtrt_id", "setl_id")
TOKEN = re.compile(r"[0-9A-Za-z]{6,}")


def _raw_values(spark: SparkSession, case: Case) -> DataFrame:
    rows = spark.read.parquet(str(case.root / "data" / "settlements"))
    return reduce(DataFrame.unionByName, [rows.select(F.col(c).alias("value")) for c in IDENTIFIERS]) \
        .where(F.col("value").isNotNull()).distinct()


def _text_values(table: DataFrame) -> DataFrame | None:
    """Every string (and string-array element) of `table`, as one column `value`."""
    parts = [table.select(F.col(f"`{f.name}`").alias("value")) for f in table.schema.fields
             if isinstance(f.dataType, StringType)]
    parts += [table.select(F.explode_outer(f"`{f.name}`").alias("value")) for f in table.schema.fields
              if isinstance(f.dataType, ArrayType) and isinstance(f.dataType.elementType, StringType)]
    return reduce(DataFrame.unionByName, parts) if parts else None


def test_no_table_holds_a_raw_identifier(spark: SparkSession, national_case: Case) -> None:
    raw = _raw_values(spark, national_case).cache()
    tables = sorted(p.name for p in national_case.out.iterdir() if (p / "_delta_log").is_dir())
    assert "settlement_rows" in tables and len(tables) >= 20, tables
    hits = {}
    for name in tables:
        values = _text_values(read_table(spark, national_case.out, name))
        if values is not None:
            hits[name] = values.join(raw, "value", "left_semi").count()
    assert {k: v for k, v in hits.items() if v} == {}
    # The scan finds what it looks for: the input itself is full of hits, and the stored
    # rows carry the pseudonyms of the input's identifiers.
    source = spark.read.parquet(str(national_case.root / "data" / "settlements"))
    assert _text_values(source).join(raw, "value", "left_semi").count() > 0  # type: ignore[union-attr]
    one = source.where(F.col("psn_no").isNotNull()).select("psn_no").first()[0]  # type: ignore[index]
    stored = national_case.table(spark, "settlement_rows")
    assert stored.where(F.col("psn_no") == pseudonym(TEST_KEY.encode(), one, 32)).count() > 0


def _found(path: Path, raw: set[str]) -> list[str]:
    """Raw identifiers written in the text file `path` (a few, for the message)."""
    return sorted(raw & set(TOKEN.findall(path.read_text(encoding="utf-8", errors="replace"))))[:3]


def test_no_export_report_or_log_holds_a_raw_identifier(spark: SparkSession, national_case: Case,
                                                        tmp_path: Path) -> None:
    raw = {r[0] for r in _raw_values(spark, national_case).collect()}
    files = [p for p in national_case.out.rglob("*") if p.is_file()
             and p.suffix not in (".parquet", ".crc", ".png")] + [national_case.root / "run.log"]
    assert any(p.suffix == ".csv" for p in files) and any(p.name == "quality_report.md" for p in files)
    log = (national_case.root / "run.log").read_text(encoding="utf-8")
    assert f"stage {len(STAGES)}/{len(STAGES)}" in log
    hits = {str(p.relative_to(national_case.root)): _found(p, raw) for p in files}
    assert {k: v for k, v in hits.items() if v} == {}
    leaked = tmp_path / "leak.csv"  # the scan finds a value where one is written
    leaked.write_text(f"visit,fee\n{min(raw)},12.5\n", encoding="utf-8")
    assert _found(leaked, raw) == [min(raw)]


def test_a_new_key_gives_new_pseudonyms_and_the_same_results(
        spark: SparkSession, two_provinces: Case, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    case = copy_case(two_provinces, tmp_path)
    exports = case.out / "exports"  # published and internal
    before = {str(p.relative_to(exports)): _export(p) for p in exports.rglob("*.csv")}
    old_ids = {r[0] for r in case.table(spark, "settlements_clean").select("psn_no").collect()}
    monkeypatch.setenv("CATALOGBRIDGE_KEY", "another-key-for-generated-data-only-0123456789")
    assert run_pipeline.main([*case.args, "--set", "run_id=rotated"]) == 0
    new_ids = {r[0] for r in case.table(spark, "settlements_clean").select("psn_no").collect()}
    assert len(new_ids) == len(old_ids) and not new_ids & old_ids
    after = {str(p.relative_to(exports)): _export(p) for p in exports.rglob("*.csv")}
    assert len(before) >= 10 and after.keys() == before.keys()
    assert [name for name in before if not after[name].equals(before[name])] == []


def _export(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return frame.drop(columns=["run_id"], errors="ignore")
