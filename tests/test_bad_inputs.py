"""Each kind of broken input stops the run with a message that says what to fix, and the
previous run's tables stay as they were."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from catalogbridge.quality.rules import QualitySettings, load_supervision_limits
from jobs import run_pipeline
from tests.conftest import Case, copy_case

TABLES = ("national_items", "catalog_mapping", "settlements_clean", "item_stats",
          "scenario_results")


@pytest.fixture(scope="module")
def good_run(two_provinces: Case, tmp_path_factory: pytest.TempPathFactory) -> Case:
    """A copy of the session's good run: the bad runs below must leave its tables alone."""
    return copy_case(two_provinces, tmp_path_factory.mktemp("bad_inputs"))


def _contents(spark: SparkSession, case: Case) -> dict[str, list[tuple[object, ...]]]:
    return {t: sorted((tuple(r) for r in case.table(spark, t).collect()), key=repr)
            for t in TABLES}


def _rewrite(path: Path, change: Callable[[str], str], encoding: str = "utf-8") -> None:
    path.write_bytes(change(path.read_text(encoding="utf-8")).encode(encoding))


BAD_INPUTS: list[tuple[str, str, Callable[[Path], None], list[str]]] = [
    ("missing column", "settlements.csv",
     lambda p: _rewrite(p, lambda t: t.replace("det_item_fee_sumamt", "fee", 1)),
     ["inputs.settlements", "missing required column(s) det_item_fee_sumamt",
      "Columns found: feedetl_sn", "inputs.settlements.columns"]),
    ("wrong encoding", "settlements.csv",
     lambda p: _rewrite(p, lambda t: t, encoding="gb18030"),
     ["settlements.csv): byte", "set inputs.settlements.encoding: gb18030"]),
    ("empty input", "settlements.csv",
     lambda p: _rewrite(p, lambda t: t.splitlines()[0] + "\n"),
     ["inputs.settlements", "no data rows"]),
    ("catalog coverage conflict", "catalogs/b_provinces.csv",
     lambda p: _rewrite(p, lambda t: t + "330000,ZJ05,普通针刺,03,\n"),
     ["inputs.catalogs", "330000 ZJ05 as 01/03", "keep one row per code and region"]),
    ("national duplicates", "national.csv",
     lambda p: _rewrite(p, lambda t: t + "003101000010000,心理治疗\n"),
     ["inputs.national_items", "same code with different names (003101000010000)"]),
]


@pytest.mark.parametrize(("kind", "file", "damage", "expected"), BAD_INPUTS,
                         ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_message_and_prior_outputs_intact(
        spark: SparkSession, good_run: Case, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], kind: str, file: str,
        damage: Callable[[Path], None], expected: list[str]) -> None:
    root, args = good_run.root, good_run.args
    before = _contents(spark, good_run)
    original = (root / file).read_bytes()
    damage(root / file)
    try:
        assert run_pipeline.main([*args, "--set", "run_id=bad"]) == 2
    finally:
        (root / file).write_bytes(original)
    err = capsys.readouterr().err
    for fragment in expected:
        assert fragment in err, f"{kind}: {fragment!r} not in {err!r}"
    assert _contents(spark, good_run) == before
    assert not (root / "out" / "_staging").exists()


def test_bad_conf_value_stops_before_spark_work(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_pipeline.main(["--conf", "conf/local.yaml", "--set", "quality.rules.fee_zero={}"]) == 2
    err = capsys.readouterr().err
    assert "unknown conf key 'quality.rules.fee_zero'" in err and "fee_not_positive" in err


def test_real_smart_supervision_lists_load(spark: SparkSession, nhsa_dir: Path) -> None:
    quality = QualitySettings(gender_limited_items=str(nhsa_dir / "items_gender_limited.tsv"),
                            age_limited_items=str(nhsa_dir / "items_age_limited.tsv"),
                            age_limits={"新生儿": 0, "婴幼儿": 2, "儿童": 17})
    limits = load_supervision_limits(spark, quality)
    assert limits is not None
    rows = {r["national_code"]: (r["limit_gender"], r["limit_age_max"]) for r in limits.collect()}
    assert len(rows) == 419  # 390 gender- and 30 age-limited items; one code is on both lists
    assert rows["002101030280000"] == ("男", None)  # 阴茎海绵体造影
    assert rows["003105120040000"] == (None, 17)    # 儿童前牙树脂冠修复


def test_age_list_with_an_unknown_group_names_the_key(spark: SparkSession, nhsa_dir: Path) -> None:
    quality = QualitySettings(age_limited_items=str(nhsa_dir / "items_age_limited.tsv"),
                            age_limits={"儿童": 17})
    with pytest.raises(ValueError, match=r"add them under quality\.age_limits"):
        load_supervision_limits(spark, quality)
