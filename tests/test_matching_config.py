"""The `matching:` section: defaults, checks, and the stage's parameters built from it."""

from __future__ import annotations

import pytest

from catalogbridge.config import ConfigError, load_config
from jobs.map_catalogs import match_params, normalizer_for


def test_defaults_reach_the_matcher() -> None:
    cfg = load_config("conf/local.yaml")
    params = match_params(cfg.matching)
    assert (params.accept_score, params.review_score, params.top_k, params.shortlist,
            params.prefilter_score, params.block_min_score, params.blocking) == (
        92.0, 70.0, 5, 10, 70.0, 92.0, True)
    assert cfg.matching.decisions_path is None
    assert normalizer_for(cfg.matching)("血清总胆红素检测费") == "总胆红素测定"


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
    assert normalizer_for(cfg.matching)("血清总胆红素检测费") == "血清总胆红素检测"


def test_missing_synonym_file_is_a_clear_input_error() -> None:
    from catalogbridge.io import InputError

    cfg = load_config("conf/local.yaml", ["matching.synonyms_path=conf/nope.yaml"])
    with pytest.raises(InputError, match=r"synonyms_path: no file at 'conf/nope\.yaml'"):
        normalizer_for(cfg.matching)
