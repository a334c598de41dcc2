"""A report as an Excel workbook (openpyxl, already our reader of .xlsx catalogs): a sheet
describing the report and each table, a sheet of parameters, then every table in full with
Chinese headers, the header row frozen, yuan with thousands separators, percentages, and
column widths that fit. Published marks stay text; every other number is a number, so the
analyst's own sums and filters work."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from catalogbridge.reports.model import Report, Table
from catalogbridge.reports.titles import MEASURES, MONEY, PERCENT, SHARES, labelled, title

HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
BOLD = Font(bold=True)
MAX_WIDTH = 60


def number_format(column: str, value: object) -> str | None:
    """The Excel format of a numeric cell of `column` (None: General)."""
    if column in MONEY:
        return "#,##0.00"
    if column in PERCENT:
        return "0.00"
    if column in SHARES:
        return "0.0%"
    if isinstance(value, int):
        return "#,##0"
    return "0.000" if isinstance(value, float) else None


def cell_value(column: str, value: object) -> object:
    """What goes into a cell: numbers (also the published measures stored as text), or text
    (codes stay text, leading zeros and all)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, bool | int | float):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    text = str(value)
    if column not in MEASURES:
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _width(value: object) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)  # CJK is two columns wide


def _fit(sheet: Worksheet, widths: dict[int, int]) -> None:
    for index, width in widths.items():
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), MAX_WIDTH)


def _write_table(sheet: Worksheet, table: Table, region_names: Mapping[str, str]) -> None:
    frame = labelled(table.frame, region_names)
    columns = list(frame.columns)
    sheet.append([title(c) for c in columns])
    widths = {i: _width(title(c)) for i, c in enumerate(columns, start=1)}
    for cell in sheet[1]:
        cell.font, cell.fill = BOLD, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row_number, record in enumerate(frame.itertuples(index=False), start=2):
        values = [cell_value(c, v) for c, v in zip(columns, record, strict=True)]
        sheet.append(values)
        for index, (column, value) in enumerate(zip(columns, values, strict=True), start=1):
            fmt = number_format(column, value) if isinstance(value, int | float) else None
            if fmt:
                sheet.cell(row=row_number, column=index).number_format = fmt
            widths[index] = max(widths[index], _width(value) if fmt is None else 14)
    sheet.freeze_panes = "A2"
    if columns:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(len(frame) + 1, 1)}"
    _fit(sheet, widths)


def write_workbook(report: Report, region_names: Mapping[str, str], target: Path) -> Path:
    """The report's tables as `target` (.xlsx)."""
    book = Workbook()
    about = book.active
    assert about is not None
    about.title = "说明"
    about.append([report.title])
    about["A1"].font = Font(bold=True, size=14)
    about.append([report.subtitle])
    about.append([report.notice])
    about.append([])
    about.append(["工作表", "内容与读法"])
    for cell in about[5]:
        cell.font, cell.fill = BOLD, HEADER_FILL
    sheets = report.sheet_names()
    for table in report.tables():
        about.append([sheets[table.key], f"{table.title}：{table.note}"])
    _fit(about, {1: 30, 2: 100})
    for row in about.iter_rows(min_row=6):
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
    params = book.create_sheet("参数")
    params.append(["参数", "取值"])
    for cell in params[1]:
        cell.font, cell.fill = BOLD, HEADER_FILL
    for name, value in report.parameters:
        params.append([name, value])
    params.freeze_panes = "A2"
    _fit(params, {1: 40, 2: 60})
    for table in report.tables():
        _write_table(book.create_sheet(sheets[table.key]), table, region_names)
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    return target
