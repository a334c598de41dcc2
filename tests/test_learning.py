"""Learning from reviewers (catalogbridge.matching.learning): what a decision teaches, and what
it must not spread to. Whole frames compared; every expectation written by hand."""

from __future__ import annotations

from chispa import assert_df_equality
from pyspark.sql import SparkSession

from catalogbridge.matching.learning import apply_learning

SCHEMA = ("catalog_region string, local_code string, match_key string, qualifier string, "
          "candidate_codes array<string>, national_code string, national_name string, "
          "method string, review_status string, decision_action string")
NATIONAL = [("C1", "甲"), ("M1", "乙"), ("M2", "丙"), ("Z", "丁"), ("C5", "戊"), ("C6", "己")]

ROWS = [
    # A reviewer named k1 -> C1 in region 31; region 32 writes the same name under its own code.
    ("31", "A", "k1", None, ["C1"], "C1", "甲", "manual", "reviewed", "set_code"),
    ("32", "B", "k1", None, ["M1"], None, None, "unmatched", "needs_review", None),
    # An automatic match with that name elsewhere is not overridden.
    ("33", "B2", "k1", None, ["C6"], "C6", "己", "fuzzy_auto", "auto", None),
    # Unknown qualifier 泵维护 confirmed as the family's main item (shown first): another
    # family's name with the same qualifier gets its own main item (M2, its first candidate).
    ("31", "D", "kd", "unknown:泵维护", ["M1", "Z"], "M1", "乙", "manual", "reviewed", "accept"),
    ("32", "E", "ke", "unknown:泵维护", ["M2", "C1"], None, None, "unmatched", "needs_review",
     None),
    # A wrong decision (not the family's pick) teaches no qualifier; other names are untouched.
    ("31", "F", "kf", "unknown:xx", ["M1"], "Z", "丁", "manual", "reviewed", "set_code"),
    ("32", "G", "kg", "unknown:xx", ["M2"], None, None, "unmatched", "needs_review", None),
    ("32", "H", "kh", None, ["Z"], None, None, "unmatched", "no_candidate", None),
    # Two reviewers decided k5 differently: no rule.
    ("31", "I", "k5", None, ["C5"], "C5", "戊", "manual", "reviewed", "set_code"),
    ("33", "J", "k5", None, ["C6"], "C6", "己", "manual", "reviewed", "set_code"),
    ("32", "K", "k5", None, ["C5"], None, None, "unmatched", "needs_review", None),
]


def test_decisions_teach_aliases_and_qualifiers_only_where_the_evidence_is_the_same(
        spark: SparkSession) -> None:
    mapping = spark.createDataFrame(ROWS, SCHEMA)
    national = spark.createDataFrame(NATIONAL, "national_code string, national_name string")
    expected = [list(r) for r in ROWS]
    expected[1][5:9] = ["C1", "甲", "learned", "auto"]  # B: alias k1
    expected[4][5:9] = ["M2", "丙", "learned", "auto"]  # E: qualifier 泵维护, own family
    got = apply_learning(mapping, national=national)
    assert_df_equality(got, spark.createDataFrame([tuple(r) for r in expected], SCHEMA),
                       ignore_row_order=True)
