"""The `matching:` section: defaults, checks, and the stage's parameters built from it."""

from __future__ import annotations

import pytest

from catalogbridge.matching.catalog import load_synonyms
from catalogbridge.pipeline.config import load_config
from catalogbridge.settings import ConfigError
from udfs.matching import MatchParams, NationalLibrary, map_items

LIBRARY = NationalLibrary(["003101000010000", "002503000010000"], ["心理咨询", "血清总胆红素测定"])


def test_conf_values_are_the_matchers_parameters() -> None:
    cfg = load_config("conf/local.yaml")
    assert isinstance(cfg.matching, MatchParams), "no adapter: the conf section is the params"
    assert (cfg.matching.accept_score, cfg.matching.review_score, cfg.matching.top_k,
            cfg.matching.shortlist, cfg.matching.prefilter_score, cfg.matching.block_min_score,
            cfg.matching.blocking, cfg.matching.decisions_path) == (
        92.0, 70.0, 5, 10, 70.0, 92.0, True, None)
    assert load_synonyms(cfg.matching.synonyms_path)("血清总胆红素检测费") == "总胆红素测定"


@pytest.mark.parametrize(("override", "method", "status"), [
    ("matching.accept_score=92", "fuzzy_auto", "auto"),
    ("matching.accept_score=99", "unmatched", "needs_review"),
    ("matching.review_score=98", "unmatched", "no_candidate"),
])
def test_a_conf_override_changes_the_decision(override: str, method: str, status: str) -> None:
    """血清总胆红素测定仪 scores 94.1 against 血清总胆红素测定: the thresholds in conf decide."""
    params = load_config("conf/local.yaml", [override, "matching.accept_score=99"]
                         if "review" in override else [override]).matching
    got = map_items(["X"], ["血清总胆红素测定仪"], [None], LIBRARY, params)
    assert (got.loc[0, "method"], got.loc[0, "review_status"]) == (method, status)


@pytest.mark.parametrize(("override", "message"), [
    ("matching.shortlist=3", "shortlist': must be at least top_k"),
    ("matching.prefilter_score=120", "prefilter_score': must be between 0 and 100"),
    ("matching.top_k=0", "top_k': must be at least 1"),
    ("matching.partitions=-1", "partitions': must be >= 0"),
    ("matching.blocking=maybe", "expected true or false"),
])
def test_bad_values_name_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config("conf/local.yaml", [override])


def test_synonyms_path_null_means_no_lists() -> None:
    cfg = load_config("conf/local.yaml", ["matching.synonyms_path=null"])
    assert load_synonyms(cfg.matching.synonyms_path)("血清总胆红素检测费") == "血清总胆红素检测"


def test_missing_synonym_file_is_a_clear_input_error() -> None:
    from catalogbridge.io.readers import InputError

    cfg = load_config("conf/local.yaml", ["matching.synonyms_path=conf/nope.yaml"])
    with pytest.raises(InputError, match=r"synonyms_path: no file at 'conf/nope\.yaml'"):
        load_synonyms(cfg.matching.synonyms_path)
