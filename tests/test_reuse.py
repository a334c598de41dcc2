"""Reusable stages keep their tables when nothing they read changed (pipeline.reuse)."""

from __future__ import annotations

import os
from pathlib import Path

from pyspark.sql import SparkSession

from catalogbridge.io import history
from catalogbridge.names import CATALOG_MAPPING, NATIONAL_ITEMS, STAGE_INPUTS
from catalogbridge.pipeline.cli import run_main
from tests.conftest import Case, copy_case

MAPPING_STAGES = ["ingest_national", "map_catalogs"]


def test_a_stage_runs_again_only_when_its_files_settings_or_tables_changed(
        spark: SparkSession, two_provinces: Case, tmp_path: Path) -> None:
    case = copy_case(two_provinces, tmp_path)
    catalog = tmp_path / "catalogs" / "b_provinces.csv"

    def run(run_id: str, *overrides: str) -> tuple[str, str]:
        """Run the two stages; the runs whose versions the two tables are now at."""
        args = [*case.args, "--set", f"run_id={run_id}", *(a for o in overrides for a in ("--set", o))]
        assert run_main(args, "", MAPPING_STAGES) == 0
        return (history.latest_commit(spark, str(case.out / NATIONAL_ITEMS))[1] or "",
                history.latest_commit(spark, str(case.out / CATALOG_MAPPING))[1] or "")

    # The copy's files have other paths than the session run's, so both stages run.
    assert run("moved") == ("moved", "moved")
    assert run("same") == ("moved", "moved")
    catalog.write_bytes(catalog.read_bytes().replace(b"\n", b"\r\n"))  # same rows, new file
    assert run("catalog-edited") == ("moved", "catalog-edited")
    assert run("setting", "matching.accept_score=95") == ("moved", "setting")
    assert run("same-setting", "matching.accept_score=95") == ("moved", "setting")
    assert run("not-reused", "matching.accept_score=95", "output.reuse_unchanged=false") == (
        "not-reused", "not-reused")
    records = {r["stage"]: r["run_id"] for r in case.table(spark, STAGE_INPUTS).collect()}
    assert records == {}, "a stage run without reuse leaves no fingerprint to reuse"
    assert run("on-again", "matching.accept_score=95") == ("on-again", "on-again")
    records = {r["stage"]: r["run_id"] for r in case.table(spark, STAGE_INPUTS).collect()}
    assert records == {"ingest_national": "on-again", "map_catalogs": "on-again"}


def test_a_fingerprint_whose_tables_moved_on_is_not_reused(
        spark: SparkSession, two_provinces: Case, tmp_path: Path) -> None:
    """As if a driver was killed after committing catalog_mapping but before stage_inputs."""
    case = copy_case(two_provinces, tmp_path)
    args = [*case.args, "--set", "run_id=first"]
    assert run_main(args, "", MAPPING_STAGES) == 0
    recorded = history.latest_version(spark, str(case.out / STAGE_INPUTS))
    catalog = tmp_path / "catalogs" / "b_provinces.csv"
    original, stat = catalog.read_bytes(), catalog.stat()
    catalog.write_bytes(original.replace(b"\n", b"\r\n"))
    assert run_main([*case.args, "--set", "run_id=edited"], "", MAPPING_STAGES) == 0
    spark.sql(f"RESTORE TABLE delta.`{case.out / STAGE_INPUTS}` TO VERSION AS OF {recorded}")
    catalog.write_bytes(original)  # the catalog exactly as the first run read it
    os.utime(catalog, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert run_main([*case.args, "--set", "run_id=third"], "", MAPPING_STAGES) == 0
    assert history.latest_commit(spark, str(case.out / CATALOG_MAPPING))[1] == "third"
    assert history.latest_commit(spark, str(case.out / NATIONAL_ITEMS))[1] == "first"
