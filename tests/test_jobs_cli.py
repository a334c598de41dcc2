"""Stages run alone from the command line; user errors end with one clear message, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from catalogbridge.pipeline.stages import STAGES
from jobs import ingest_national, map_catalogs


def _args(tmp_path: Path, national: Path, catalogs: Path) -> list[str]:
    return ["--conf", "conf/local.yaml",
            "--set", f"inputs.national_items.path={national}",
            "--set", f"inputs.catalogs.path={catalogs}",
            "--set", f"output.path={tmp_path / 'out'}"]


def test_missing_column_exits_2_with_the_fix(spark: SparkSession, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    national = tmp_path / "national.csv"
    national.write_text("项目编码,item_name\n003101000010000,心理咨询\n", encoding="utf-8")
    assert ingest_national.main(_args(tmp_path, national, tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: inputs.national_items")
    assert "missing required column(s) item_code" in err and "Columns found: 项目编码" in err


def test_bad_conf_key_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert ingest_national.main(["--conf", "conf/local.yaml", "--set", "output.formt=x"]) == 2
    assert "unknown conf key 'output.formt' (did you mean 'format'?)" in capsys.readouterr().err


def test_catalog_listing_a_code_twice_with_different_levels(
        spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    national = tmp_path / "national.csv"
    national.write_text("item_code,item_name\n003101000010000,心理咨询\n", encoding="utf-8")
    catalogs = tmp_path / "catalog.csv"
    catalogs.write_text("admdvs,item_code,item_name,chrgitm_lv\n330000,ZJ01,心理咨询,01\n"
                        "330000,ZJ01,心理咨询,丙类\n330000,ZJ02,血常规,01\n330000,ZJ02,血常规,甲类\n",
                        encoding="utf-8")
    args = _args(tmp_path, national, catalogs)
    assert ingest_national.main(args) == 0
    assert map_catalogs.main(args) == 2
    err = capsys.readouterr().err
    assert "330000 ZJ01 as 01/03" in err, err
    assert "ZJ02" not in err, "the same level written two ways is not a conflict"


def test_every_stage_runs_as_a_module() -> None:
    """`python -m jobs.<stage> --help` for each stage of the table (under -m a module's
    `__name__` is `__main__`, so the stage is found from its file)."""
    for stage in STAGES:
        done = subprocess.run([sys.executable, "-m", f"jobs.{stage.name}", "--help"],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"jobs.{stage.name}: {done.stderr[-500:]}"
        assert f"Stage {stage.name}:" in done.stdout
