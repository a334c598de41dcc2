from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from catalogbridge.pipeline.config import load_config
from catalogbridge.settings import ConfigError


def test_local_overlay_extends_base() -> None:
    cfg = load_config("conf/local.yaml")
    assert cfg.spark.master == "local[2]"
    assert cfg.scenario.thresholds == [0, 100, 200, 300, 400, 500]
    assert cfg.analysis.period.start == dt.date(2023, 1, 1)
    assert cfg.spark.conf["spark.sql.shuffle.partitions"] == "64"


def test_cluster_overlay_uses_delta() -> None:
    cfg = load_config("conf/cluster.yaml")
    assert cfg.output.format == "delta"
    assert cfg.spark.master is None
    assert cfg.spark.conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"


def test_set_overrides_parse_yaml_values() -> None:
    cfg = load_config("conf/local.yaml", [
        "scenario.thresholds=[0, 50]", "scenario.scope=all", "analysis.med_types=['21']",
        "spark.conf.spark.sql.shuffle.partitions=4", "inputs.catalogs.columns.项目编码=item_code",
    ])
    assert cfg.scenario.thresholds == [0, 50]
    assert cfg.scenario.scope == "all"
    assert cfg.analysis.med_types == ["21"]
    assert cfg.spark.conf["spark.sql.shuffle.partitions"] == "4"
    assert cfg.inputs.catalogs.columns == {"项目编码": "item_code"}


@pytest.mark.parametrize(("override", "message"), [
    ("scenario.threshold=[1]", "unknown conf key 'scenario.threshold' (did you mean 'thresholds'?)"),
    ("scenario.thresholds=abc", "conf key 'scenario.thresholds': expected a list"),
    ("scenario.thresholds=[100, 0]", "ascending order"),
    ("scenario.scope=diagnostics", "conf key 'scenario.scope': 'diagnostics' is not one of"),
    ("output.charts=maybe", "conf key 'output.charts': expected true or false"),
    ("analysis.period.start=2023-13-01", "conf key 'analysis.period.start': expected a date"),
    ("matching.review_score=95", "conf key 'matching.review_score': must not exceed"),
    ("inputs.settlements.encoding=latin-1", "conf key 'inputs.settlements.encoding'"),
    ("analysis.region_level=county", "conf key 'analysis.region_level'"),
    ("decision.threshold_on=home", "conf key 'decision.threshold_on': 'home' is not one of"),
    ("decision.thresholds=[5, 5]", "conf key 'decision.thresholds': use distinct"),
    ("decision.budget.fund_share=1.5", "conf key 'decision.budget.fund_share': a share of fees"),
    ("decision.budget.horizon_years=6", "conf key 'decision.budget.horizon_years': must be 1 to 5"),
    ("decision.budget.uptake=ramp", "conf key 'decision.budget.uptake': 'ramp' is not one of"),
    ("decision.budget.spreads.growth.distribution=gamma",
     "conf key 'decision.budget.spreads.growth.distribution': 'gamma' is not one of"),
    ("decision.budget.fund_share_by=[{share: 2, insured: '310000'}]",
     "conf key 'decision.budget.fund_share_by[0].share': a share of fees must lie in [0, 1]"),
    ("decision.selection.caps=[]", "conf key 'decision.selection.caps': give at least one cap"),
    ("decision.selection.caps=[-1.0]", "conf key 'decision.selection.caps': every cap must be > 0"),
])
def test_bad_values_name_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config("conf/local.yaml", [override])
    assert message in str(err.value)


def test_missing_required_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("inputs:\n  national_items: {path: a.csv}\n  catalogs: {path: b.csv}\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r"missing conf key 'inputs.settlements'"):
        load_config(path)


def test_extends_loop_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="loops back"):
        load_config(tmp_path / "a.yaml")
