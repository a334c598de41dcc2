"""The HTML reports and workbooks: built from one region's rows, written by the pipeline, and
opened offline in a real headless browser (tests/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser
from pyspark.sql import SparkSession

from catalogbridge.names import PUBLISHED_TABLES, SCENARIO_RESULTS
from catalogbridge.reports.context import Aggregates, Context
from catalogbridge.reports.html import cell_text, render
from catalogbridge.reports.model import Picture
from catalogbridge.reports.regional import REGION_TABLES, region_report
from catalogbridge.reports.settings import ReportSettings
from catalogbridge.reports.workbook import write_workbook
from catalogbridge.reports.writer import ReportError, ReportTables, chosen_regions, exact_scheme_chart
from catalogbridge.settings import SettingError
from tests.browser import browser, cjk_rendered, open_page, text_without_js
from tests.conftest import Case

NAMES = {"330000": "浙江省", "310000": "上海市"}


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame(columns=list(REGION_TABLES[name][0]))


def _figure(region: str, treatment: str, rows: pd.DataFrame) -> bytes | None:
    return None


def _context(groups: pd.DataFrame | None = None, settings: ReportSettings | None = None) -> Context:
    none = pd.DataFrame(columns=["insured_admdvs"])
    aggregates = Aggregates(
        quarantine=pd.DataFrame({"insured_admdvs": ["330000"], "reason": ["fee_not_positive"],
                                 "rows": [2], "fees": [-10.0]}),
        coverage=pd.DataFrame({"insured_admdvs": ["330000"], "rows": [8], "fees": [100.0],
                               "mapped_fees": [75.0]}),
        queue=pd.DataFrame(columns=["catalog_region", "items", "fee_at_stake"]),
        balance=pd.DataFrame(columns=["admdvs"]), groups=none if groups is None else groups,
        recon=pd.DataFrame(columns=["treatment_admdvs"]))
    return Context(settings or ReportSettings(page_rows=1), NAMES, (("运行编号 run_id", "r1"),),
                   aggregates, lambda path: None, _figure, "r1")


def _region_rows() -> dict[str, pd.DataFrame]:
    rows = {name: _empty(name) for name in REGION_TABLES}
    rows["pair_schemes"] = pd.DataFrame(
        [("310000", 1, 0, "2", "3", "100.0", "1234.5", "0.0"), ("310000", 2, 2, "*", "*", "*", "*", "*")],
        columns=list(REGION_TABLES["pair_schemes"][0]))
    rows["pair_items"] = pd.DataFrame(
        [("310000", "003115010010000", "甲项目", "3", "31", "therapeutic", "2", "1000.0", "1", "234.5"),
         ("310000", "001102000040000", "乙项目", "1", "11", "diagnostic", "*", "*", "0", "0.0")],
        columns=list(REGION_TABLES["pair_items"][0]))
    rows["insured_schemes"] = rows["pair_schemes"].drop(columns=["treatment_admdvs"])
    return rows


def test_a_region_report_has_the_papers_tables_and_notes_what_is_missing() -> None:
    report = region_report("330000", _region_rows(), _context())
    sections = {s.key: s for s in report.sections}
    assert list(sections)[:2] == ["summary", "decision"] and "pair_310000" in sections
    assert sections["flows"].omitted and sections["alerts"].omitted and sections["groups"].omitted
    assert sections["budget"].omitted, "no budget rows: a one-line note, not an error"
    table_4 = next(t for t in report.tables() if t.key == "t4_310000")
    assert table_4.frame["added_spend"].tolist() == ["1234.5", "*"]
    items = next(t for t in report.tables() if t.key == "items_310000")
    assert items.shown == 1 and items.hidden_rows == 1, "report.page_rows rows on the page"
    quality = sections["quality"].parts[0]
    assert ("已映射到国家编码的费用占比", "75.00%") in quality.items  # type: ignore[union-attr]
    assert ("隔离行占比", "20.00%") in quality.items  # type: ignore[union-attr]


def test_exact_counts_draw_figure_1_from_the_exact_rows() -> None:
    settings = ReportSettings(page_rows=1, counts="exact")
    context = _context(settings=settings)
    exact = replace(context, scheme_chart=exact_scheme_chart(None))
    rows = _region_rows()
    rows["pair_schemes"] = rows["pair_schemes"].iloc[:1]
    report = region_report("330000", rows, exact)
    figures = [p for s in report.sections for p in s.parts if isinstance(p, Picture)]
    assert [f.key for f in figures] == ["fig1_310000"] and figures[0].png.startswith(b"\x89PNG")
    assert report.notice == settings.notice and "精确数值" in report.notice
    assert "小格抑制的发布表" in region_report("330000", rows, _context()).notice


def test_the_page_is_one_self_contained_file() -> None:
    page = render(region_report("330000", _region_rows(), _context()), NAMES)
    assert page.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in page
    assert "http://" not in page and "https://" not in page and "@font-face" not in page
    assert '"Microsoft YaHei", "PingFang SC"' in page and "Noto Sans CJK SC" in page
    assert "浙江省 330000 医保目录区域协同报告" in page
    assert '<td data-col="added_spend" class="n">1,234.50</td>' in page
    assert '<td data-col="national_code">003115010010000</td>' in page, "codes stay text"
    assert "另有 1 行未在页面列出" in page and "上海市 310000：差异项目清单" in page


def test_the_workbook_has_chinese_headers_formats_and_frozen_rows(tmp_path: Path) -> None:
    report = region_report("330000", _region_rows(), _context())
    book = load_workbook(write_workbook(report, NAMES, tmp_path / "330000.xlsx"))
    sheets = report.sheet_names()
    assert book.sheetnames[:2] == ["说明", "参数"] and sheets["t4_310000"] in book.sheetnames
    table_4 = book[sheets["t4_310000"]]
    assert [c.value for c in table_4[1]] == ["方案", "纳入阈值（人次）", "项目数", "就诊人次",
                                           "人次保留率（%）", "新增医保支出（元）", "支出降幅（%）"]
    assert table_4.freeze_panes == "A2"
    spend = table_4.cell(row=2, column=6)
    assert spend.value == 1234.5 and spend.number_format == "#,##0.00"
    assert table_4.cell(row=3, column=6).value == "*", "a published mark stays text"
    items = book[sheets["items_310000"]]
    assert items.max_row == 3, "the workbook holds every row, the page only page_rows"
    assert items.cell(row=2, column=1).value == "003115010010000", "leading zeros kept"
    assert items.cell(row=2, column=3).value == "3 临床诊疗类"
    assert items.column_dimensions["B"].width >= 10


def test_report_settings_are_validated() -> None:
    for bad, key in (({"headers": "english"}, "headers"), ({"page_rows": 0}, "page_rows"),
                     ({"regions": ["33"]}, "regions")):
        with pytest.raises(SettingError, match=key):
            ReportSettings(**bad)  # type: ignore[arg-type]


def test_a_region_not_in_the_data_is_named_with_the_ones_that_are(spark: SparkSession) -> None:
    schemes = spark.createDataFrame([("330000", 1), ("310000", 1)], "insured_admdvs string, scheme int")
    tables = ReportTables({"insured_scenarios": schemes}, ReportSettings(regions=["990000"]), (), {}, "r")
    with pytest.raises(ReportError, match=r"990000 not in the data.*310000, 330000"):
        chosen_regions(tables)


def _reports(case: Case) -> Path:
    return case.out / "exports" / "internal" / "reports"


def test_the_pipeline_writes_a_report_and_workbook_per_insured_region(two_provinces: Case) -> None:
    names = sorted(p.name for p in _reports(two_provinces).iterdir() if p.is_file())
    assert names == ["310000.html", "310000.xlsx", "330000.html", "330000.xlsx", "index.html",
                     "national.html", "national.xlsx"]


def test_national_demo_scale_pages_stay_within_the_size_budget(national_case: Case,
                                                               spark: SparkSession) -> None:
    regions = national_case.table(spark, "insured_scenarios").select("insured_admdvs").distinct().count()
    pages = list(_reports(national_case).glob("*.html"))
    assert regions >= 25 and len(pages) == regions + 2, "each insured region, the overview, the index"
    largest = max(p.stat().st_size for p in pages)
    assert largest <= ReportSettings().max_page_mb * (1 << 20), f"{largest:,} bytes"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with browser() as launched:
        yield launched


def test_reports_open_offline_in_a_real_browser(chromium: Browser, two_provinces: Case,
                                                spark: SparkSession) -> None:
    shots = _reports(two_provinces) / "screenshots"
    for page in sorted(_reports(two_provinces).glob("*.html")):
        with open_page(chromium, page, shots / f"{page.stem}.png") as check:
            assert check.console_errors == [], page.name
            assert check.external_requests == [], page.name
            assert cjk_rendered(check.page, "h1"), f"{page.name}: Chinese title drawn with a CJK font"
            assert (shots / f"{page.stem}.png").stat().st_size > 10_000
            if page.stem == "330000":  # Table 4 of pair 330000 -> 310000, as the published table
                cells = check.page.eval_on_selector_all(
                    "#t-t4_310000 tbody tr", "rows => rows.map(r => Array.from(r.cells, c => c.textContent))")
                published = (two_provinces.table(spark, PUBLISHED_TABLES[SCENARIO_RESULTS])
                             .where("insured_admdvs = '330000' and treatment_admdvs = '310000'")
                             .orderBy("scheme").collect())
                assert cells == [[str(r["scheme"]), str(r["threshold"]), r["item_count"], r["visits"],
                                  f"{float(r['visits_retention_pct']):.2f}",
                                  f"{float(r['added_spend']):,.2f}", f"{float(r['spend_decline_pct']):.2f}"]
                                 for r in published]
    assert "纳入方案（表4）" in text_without_js(chromium, _reports(two_provinces) / "330000.html"), \
        "readable without JavaScript"


@pytest.mark.parametrize(("column", "value", "shown"), [
    ("fee_treatment", Decimal("1234567.5"), "1,234,567.50"),  # Spark's money
    ("fee_treatment", "1234.5", "1,234.50"),  # a published measure is text
    ("visits", "<10", "<10"),  # the privacy mark stays as it is
    ("visits", "12", "12"),
    ("visits", "1_000", "1_000"),  # not a number, though Python's float() reads it
    ("visits", 12.0, "12"),
    ("visit_share", 0.125, "12.5%"),
    ("national_code", "001201000010000", "001201000010000"),  # codes stay text
    ("visits", Decimal("NaN"), "NaN"),
    ("visits", float("nan"), ""),
    ("in_data", True, "是"),
])
def test_cell_text(column: str, value: object, shown: str) -> None:
    assert cell_text(column, value) == shown
