"""Published tables: small counts hidden with what would reveal them, checked by the audit
on every insured region of the national case, and exact values wherever nothing is hidden."""

from __future__ import annotations

from decimal import Decimal as D

import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from catalogbridge.decisions.insured import insured_decisions, insured_scenarios
from catalogbridge.names import (
    CLASS_SUMMARY,
    DISCLOSURE_CELLS,
    DISCREPANT_ITEMS,
    INSURED,
    INSURED_DECISIONS,
    INSURED_SCENARIOS,
    PUBLISHED_TABLES,
    SCENARIO_RESULTS,
    SUPPRESSION_LOG,
    TREATMENT,
)
from catalogbridge.privacy.disclosure import Breach, audit, primary_cells
from catalogbridge.privacy.settings import PrivacySettings
from catalogbridge.publication.cells import Cells, SchemeRule, region_cells
from catalogbridge.publication.tables import CELL_SCHEMA, hidden_in_region, publish
from catalogbridge.reports.titles import technical_frame
from catalogbridge.settings import SettingError
from catalogbridge.transforms.scenarios import class_summary, scenario_results
from tests.conftest import Case
from tests.test_analysis import DISCREPANT_SCHEMA

PAIR_RULE = SchemeRule((0, 100, 200, 300, 400, 500), "therapeutic", "visits_treatment")
INSURED_RULE = SchemeRule((0, 100, 200, 300, 400, 500), "therapeutic", "visits_away")
KEYS = {DISCREPANT_ITEMS: (INSURED, TREATMENT, "national_code"),
        SCENARIO_RESULTS: (INSURED, TREATMENT, "scheme"),
        INSURED_DECISIONS: (INSURED, "national_code"), INSURED_SCENARIOS: (INSURED, "scheme"),
        CLASS_SUMMARY: (INSURED, TREATMENT, "grouping", "group_code")}
MEASURES = {  # published table -> (visit-count columns, fee and percentage columns)
    DISCREPANT_ITEMS: (("visits_treatment", "visits_home"), ("fee_treatment", "fee_home")),
    SCENARIO_RESULTS: (("visits",), ("added_spend", "visits_retention_pct", "spend_decline_pct")),
    INSURED_DECISIONS: (("visits_away", "visits_home", "visits_total"),
                        ("fee_away", "fee_home", "fee_total")),
    INSURED_SCENARIOS: (("visits",), ("added_spend", "visits_retention_pct", "spend_decline_pct")),
    CLASS_SUMMARY: (("visits_treatment", "visits_home", "visits_total"),
                    ("fee_treatment", "fee_home", "fee_total", "visits_treatment_pct")),
}


def _items(rows: list[tuple[str, str, str, int, int]]) -> pd.DataFrame:
    """(treatment, code, class_l2, visits there, visits at home) of insured region 330000."""
    frame = pd.DataFrame(rows, columns=[TREATMENT, "national_code", "class_l2",
                                        "visits_treatment", "visits_home"])
    return frame.assign(**{INSURED: "330000", "class_l1": frame["class_l2"].str[0],
                           "function": "therapeutic"})


def test_a_class_total_gives_a_lone_small_item_away_unless_another_is_hidden() -> None:
    # Pair 330000 -> 310000: A 5 visits there, B 300; class 31 shows 305, so A = 305 - 300.
    items = _items([("310000", "A", "31", 5, 0), ("310000", "B", "31", 300, 50)])
    cells = region_cells(items, pair_rule=PAIR_RULE, insured_rule=INSURED_RULE)
    a = cells.keys.index(("item_treatment", "310000", "A", None, None, None))
    also_a = {cells.keys.index((kind, None, "A", None, None, None))
              for kind in ("insured_away", "insured_total")}  # A's 5 visits in the decision view
    assert primary_cells(cells.values, 11) == {a} | also_a
    assert audit(cells.values, cells.equations, {a}, min_cell=11, lower=cells.lower) == \
        [Breach(a, 5, 5)]
    hidden = hidden_in_region(items, pair_rule=PAIR_RULE, insured_rule=INSURED_RULE, min_cell=11)
    status = {(r.kind, r.national_code): r.status for r in hidden.itertuples()}
    assert status[("item_treatment", "A")] == "primary"
    assert status[("item_treatment", "B")] == "complementary"
    assert audit(cells.values, cells.equations, _indices(cells, hidden), min_cell=11,
                 lower=cells.lower) == []


def _indices(cells: Cells, hidden: pd.DataFrame) -> set[int]:
    """The cells of `hidden` (rows of `hidden_in_region`) as cell numbers."""
    keys = {tuple(None if pd.isna(v) else v for v in row)
            for row in hidden.drop(columns=[INSURED, "status"]).itertuples(index=False)}
    found = {c for c, key in enumerate(cells.keys) if key in keys}
    assert len(found) == len(hidden)
    return found


def test_large_cells_hide_nothing() -> None:
    items = _items([("310000", "A", "31", 150, 20), ("310000", "B", "32", 300, 50),
                    ("320000", "A", "31", 40, 20)])
    assert hidden_in_region(items, pair_rule=PAIR_RULE, insured_rule=INSURED_RULE,
                            min_cell=11).empty


@pytest.fixture(scope="module")
def regions(spark: SparkSession, national_case: Case) -> dict[str, pd.DataFrame]:
    """The national case's discrepant items per insured region (a few thousand rows)."""
    items = national_case.table(spark, DISCREPANT_ITEMS).toPandas()
    return {str(k): v.reset_index(drop=True) for k, v in items.groupby(INSURED)}


def test_every_region_passes_the_audit_and_primary_only_would_not(
        regions: dict[str, pd.DataFrame]) -> None:
    breakable = 0
    for items in regions.values():
        cells = region_cells(items, pair_rule=PAIR_RULE, insured_rule=INSURED_RULE)
        hidden = _indices(cells, hidden_in_region(items, pair_rule=PAIR_RULE,
                                                  insured_rule=INSURED_RULE, min_cell=11))
        primary = primary_cells(cells.values, 11)
        assert primary <= hidden
        assert audit(cells.values, cells.equations, hidden, min_cell=11, lower=cells.lower) == []
        breakable += bool(audit(cells.values, cells.equations, primary, min_cell=11,
                                lower=cells.lower))
    assert len(regions) >= 25 and breakable >= 5, (len(regions), breakable)


def test_the_spark_stage_equals_the_pure_core(spark: SparkSession, national_case: Case,
                                              regions: dict[str, pd.DataFrame]) -> None:
    expected = pd.concat([hidden_in_region(items, pair_rule=PAIR_RULE, insured_rule=INSURED_RULE,
                                           min_cell=11) for items in regions.values()])
    assert_df_equality(national_case.table(spark, DISCLOSURE_CELLS),
                       spark.createDataFrame(expected.astype(object).where(expected.notna(), None),
                                             CELL_SCHEMA),
                       ignore_row_order=True, ignore_nullable=True)


def _exported(case: Case, table: str) -> pd.DataFrame:
    """A published export as its technical names and codes (it shows Chinese titles)."""
    return technical_frame(pd.read_csv(case.out / "exports" / f"{table}.csv", encoding="utf-8-sig",
                                       dtype=str, keep_default_na=False))


@pytest.mark.parametrize("table", list(MEASURES))
def test_no_published_count_is_small_and_visible_values_are_exact(
        spark: SparkSession, national_case: Case, table: str) -> None:
    published = _exported(national_case, table)
    counts, derived = MEASURES[table]
    mark = PrivacySettings().mark
    for column in counts:
        shown = published.loc[published[column] != mark, column].astype(int)
        assert not shown.between(1, 10).any(), f"{table}.{column} shows a count of 1-10"
    hidden = (published[list(counts)] == mark).to_numpy().sum()
    assert hidden > 0 or table == INSURED_SCENARIOS, f"{table}: nothing hidden in the national case"
    exact = national_case.table(spark, table).toPandas().astype(str)
    keys = list(KEYS[table])
    merged = published.merge(exact, on=keys, suffixes=("", "_exact"), validate="one_to_one")
    assert len(merged) == len(published) == len(exact)
    for column in (*counts, *derived):
        visible = merged[merged[column] != mark]
        shown, truth = (pd.to_numeric(visible[c], errors="coerce").fillna(-1)
                        for c in (column, f"{column}_exact"))
        assert (shown == truth).all(), column


def test_the_log_counts_every_mark(national_case: Case) -> None:
    log = _exported(national_case, "suppression_log")
    mark = PrivacySettings().mark
    for table, (counts, derived) in MEASURES.items():
        rows = log[log["table"] == table]
        published = _exported(national_case, table)
        logged = rows[["primary_cells", "complementary_cells"]].astype(int).to_numpy().sum()
        assert logged == (published[list(counts)] == mark).to_numpy().sum(), table
        if table != CLASS_SUMMARY:  # class_summary's percentages are more than MEASURES lists
            assert rows["derived_cells"].astype(int).sum() == \
                (published[list(derived)] == mark).to_numpy().sum(), table
    assert set(log["table"]) == set(PUBLISHED_TABLES)


@pytest.mark.parametrize(("changes", "key"), [({"min_cell": 0}, "min_cell"),
                                              ({"mark": "12"}, "mark"), ({"mark": " "}, "mark")])
def test_bad_disclosure_settings_name_the_key(changes: dict[str, object], key: str) -> None:
    with pytest.raises(SettingError, match=key):
        PrivacySettings(**changes)  # type: ignore[arg-type]


def _stage_tables(spark: SparkSession, rows: list[tuple[object, ...]]) -> dict[str, DataFrame]:
    """The five exact tables the publish stage reads, from discrepant-item rows."""
    discrepant = spark.createDataFrame(rows, DISCREPANT_SCHEMA)
    pairs = discrepant.select(INSURED, TREATMENT).distinct()
    decisions = insured_decisions(discrepant)
    return {
        DISCREPANT_ITEMS: discrepant, CLASS_SUMMARY: class_summary(discrepant),
        SCENARIO_RESULTS: scenario_results(discrepant, pairs=pairs, spark=spark,
                                           thresholds=list(PAIR_RULE.thresholds)),
        INSURED_DECISIONS: decisions,
        INSURED_SCENARIOS: insured_scenarios(
            decisions, insured=pairs.select(INSURED).distinct(), spark=spark,
            thresholds=list(INSURED_RULE.thresholds), scope="therapeutic", threshold_on="away"),
    }


def _as_text(table: DataFrame) -> DataFrame:
    """Every column as text: published measures are text, keys and item counts are not."""
    return table.select(*[F.col(f.name).cast("string") if not isinstance(f.dataType, StringType)
                          else F.col(f.name) for f in table.schema.fields])


def test_paper_scale_tables_are_published_unchanged(spark: SparkSession) -> None:
    # Zhejiang insured in Shanghai at the paper's scale: hundreds of visits per item.
    tables = _stage_tables(spark, [
        ("330000", "310000", "003101000010000", "心理咨询", "3", "31", "therapeutic",
         1520, D("45600.00"), 310, D("9300.00")),
        ("330000", "310000", "003302000010000", "颅内手术", "3", "33", "therapeutic",
         214, D("642000.00"), 0, D("0.00")),
        ("330000", "310000", "002501000010000", "血常规", "2", "25", "diagnostic",
         8800, D("88000.00"), 5100, D("51000.00")),
    ])
    out = publish(tables, pair_rule=PAIR_RULE, insured_rule=INSURED_RULE, min_cell=11, mark="*")
    assert out[DISCLOSURE_CELLS].count() == 0
    for name, exact in tables.items():
        assert_df_equality(_as_text(out[PUBLISHED_TABLES[name]]), _as_text(exact),
                           ignore_row_order=True, ignore_nullable=True)
    log = out[SUPPRESSION_LOG].groupBy().sum("primary_cells", "complementary_cells",
                                             "derived_cells").first()
    assert log is not None and tuple(log) == (0, 0, 0)


def test_a_small_item_is_masked_with_its_fee_and_the_cell_that_gives_it_away(
        spark: SparkSession) -> None:
    tables = _stage_tables(spark, [
        ("330000", "310000", "A", "甲", "3", "31", "therapeutic", 5, D("50.00"), 0, D("0.00")),
        ("330000", "310000", "B", "乙", "3", "31", "therapeutic", 300, D("900.00"), 50, D("150.00")),
    ])
    out = publish(tables, pair_rule=PAIR_RULE, insured_rule=INSURED_RULE, min_cell=11, mark="*")
    got = out[PUBLISHED_TABLES[DISCREPANT_ITEMS]].select(
        "national_code", "visits_treatment", "fee_treatment", "visits_home", "fee_home")
    expected = hidden_in_region(tables[DISCREPANT_ITEMS].toPandas(), pair_rule=PAIR_RULE,
                                insured_rule=INSURED_RULE, min_cell=11)
    home_hidden = set(expected.loc[expected["kind"] == "item_home", "national_code"])
    rows = [("A", "*", "*", "*" if "A" in home_hidden else "0", "*" if "A" in home_hidden else "0.00"),
            ("B", "*", "*", "*" if "B" in home_hidden else "50", "*" if "B" in home_hidden else "150.00")]
    assert_df_equality(got, spark.createDataFrame(rows, got.schema), ignore_row_order=True,
                       ignore_nullable=True)
    log = {r["table"]: r for r in out[SUPPRESSION_LOG].collect()}
    assert (log[DISCREPANT_ITEMS]["primary_cells"], log[DISCREPANT_ITEMS]["published_cells"]) == \
        (1, 8)
