"""A report as one self-contained HTML file: CSS, images and the optional sorting script are
inline, nothing is fetched (health data rooms have no internet), and the page reads the same
without JavaScript. Chinese uses the fonts of the usual office machines, none downloaded."""

from __future__ import annotations

import base64
import html
import numbers
from collections.abc import Mapping
from decimal import Decimal

import pandas as pd

from catalogbridge.reports.model import Figures, Part, Picture, Report, Table
from catalogbridge.reports.titles import MEASURES, MONEY, PERCENT, SHARES, labelled, title

FONT_STACK = ('"Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", "Noto Sans CJK SC", '
              '"Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif')

CSS = """
body { font-family: FONT_STACK; margin: 0; color: #1f2933; background: #f5f7fa; line-height: 1.55; }
header { background: #12355b; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; opacity: .9; }
.internal { background: #fff4e5; color: #7a4100; padding: 8px 28px; font-size: 14px;
            border-bottom: 1px solid #f0c36d; }
nav { padding: 10px 28px; background: #fff; border-bottom: 1px solid #d9e2ec; font-size: 14px; }
nav a { margin-right: 14px; color: #12355b; }
main { padding: 8px 28px 40px; max-width: 1400px; }
section { background: #fff; border: 1px solid #d9e2ec; border-radius: 6px; margin: 18px 0;
          padding: 6px 20px 16px; }
h2 { font-size: 20px; color: #12355b; border-bottom: 2px solid #12355b; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 18px 0 4px; }
p.note, p.intro, p.omitted, p.more { font-size: 14px; color: #52606d; margin: 4px 0 8px; }
p.omitted { font-style: italic; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0; }
th, td { border: 1px solid #d9e2ec; padding: 3px 8px; }
th { background: #eef2f7; text-align: left; position: sticky; top: 0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td[data-col="national_code"], td[data-col$="_admdvs"], td[data-col="admdvs"],
td[data-col^="class_l"], td[data-col="function"], td[data-col="grouping"] { white-space: nowrap; }
tr:nth-child(even) td { background: #fafbfc; }
.figures { display: flex; flex-wrap: wrap; gap: 12px; margin: 10px 0; }
.figure { border: 1px solid #d9e2ec; border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.figure .label { font-size: 13px; color: #52606d; }
.figure .value { font-size: 20px; font-weight: bold; color: #12355b; }
figure { margin: 10px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #d9e2ec; }
figcaption { font-size: 13px; color: #52606d; }
ul.links { columns: 3; font-size: 14px; }
""".replace("FONT_STACK", FONT_STACK)

# Sorting on top of a page that needs none: click a column title to sort its table.
SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th, index) {
  th.style.cursor = "pointer";
  th.title = "点击排序";
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var up = th.dataset.order !== "asc";
    th.dataset.order = up ? "asc" : "desc";
    var key = function (row) {
      var cell = row.cells[th.cellIndex];
      var text = cell ? cell.textContent.replace(/[,%]/g, "") : "";
      var number = parseFloat(text);
      return isNaN(number) ? text : number;
    };
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      if (typeof x === typeof y) { return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1); }
      return typeof x === "number" ? -1 : 1;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""


def _number(value: object) -> float | None:
    """The number a cell holds: numbers and Decimals (Spark's money) directly, text when it
    reads as one (published measures are text: '12' or the privacy mark), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, numbers.Real | Decimal):
        number = float(value)
    else:
        text = str(value)
        if "_" in text:  # float() reads 1_000; a published measure never has one
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    return None if number != number else number  # NaN


def cell_text(column: str, value: object) -> str:
    """A value as the page shows it: yuan and counts with thousands separators, percentages
    with two decimals, shares as percent; a published mark or a name as it is."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    number = _number(value) if column in MEASURES or not isinstance(value, str) else None
    if number is None:
        return str(value)
    if column in MONEY:
        return f"{number:,.2f}"
    if column in PERCENT:
        return f"{number:.2f}"
    if column in SHARES:
        return f"{number * 100:.1f}%"
    if number.is_integer() and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:,.3f}"


NUMERIC_CELL = ' class="n"'


def _table(table: Table, region_names: Mapping[str, str], sheet: str) -> str:
    frame = table.frame if table.shown is None else table.frame.head(table.shown)
    shown = labelled(frame, region_names)
    head = "".join(f'<th data-col="{html.escape(c)}">{html.escape(title(c))}</th>' for c in shown.columns)
    numeric = {c for c in table.frame.columns if c in MEASURES
               or pd.api.types.is_numeric_dtype(table.frame[c])}
    rows = []
    for record in shown.itertuples(index=False):
        cells = "".join(
            f'<td data-col="{html.escape(c)}"{NUMERIC_CELL if c in numeric else ""}>'
            f"{html.escape(cell_text(c, v))}</td>" for c, v in zip(shown.columns, record, strict=True))
        rows.append(f"<tr>{cells}</tr>")
    body = "".join(rows) or f'<tr><td colspan="{len(shown.columns)}">（无数据）</td></tr>'
    more = (f'<p class="more">另有 {table.hidden_rows:,} 行未在页面列出，完整表格见同名 Excel 工作簿的'
            f"“{html.escape(sheet)}”工作表。</p>") if table.hidden_rows else ""
    return (f'<h3 id="{html.escape(table.key)}">{html.escape(table.title)}</h3>'
            f'<p class="note">{html.escape(table.note)}</p>'
            f'<div class="scroll"><table class="sortable" id="t-{html.escape(table.key)}">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{more}")


def _picture(picture: Picture) -> str:
    data = base64.b64encode(picture.png).decode("ascii")
    return (f'<figure id="{html.escape(picture.key)}"><img alt="{html.escape(picture.title)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(picture.title)}：'
            f"{html.escape(picture.note)}</figcaption></figure>")


def _figures(figures: Figures) -> str:
    boxes = "".join(f'<div class="figure"><div class="label">{html.escape(label)}</div>'
                    f'<div class="value">{html.escape(value)}</div></div>'
                    for label, value in figures.items)
    return f'<div class="figures">{boxes}</div>'


def _part(part: Part, region_names: Mapping[str, str], sheets: Mapping[str, str]) -> str:
    if isinstance(part, Table):
        return _table(part, region_names, sheets[part.key])
    if isinstance(part, Picture):
        return _picture(part)
    return _figures(part)


def render(report: Report, region_names: Mapping[str, str]) -> str:
    """The whole page as text (UTF-8 when written)."""
    sheets = report.sheet_names()
    nav = "".join(f'<a href="#{html.escape(s.key)}">{html.escape(s.title)}</a>' for s in report.sections)
    sections = []
    for section in report.sections:
        inner = (f'<p class="omitted">{html.escape(section.omitted)}</p>' if section.omitted else
                 "".join(_part(p, region_names, sheets) for p in section.parts))
        intro = f'<p class="intro">{html.escape(section.intro)}</p>' if section.intro else ""
        sections.append(f'<section id="{html.escape(section.key)}"><h2>{html.escape(section.title)}</h2>'
                        f"{intro}{inner}</section>")
    params = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
                     for k, v in report.parameters)
    links = "".join(f'<li><a href="{html.escape(href)}">{html.escape(label)}</a></li>'
                    for label, href in report.links)
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(report.title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{html.escape(report.title)}</h1><p>{html.escape(report.subtitle)}</p></header>"
        f'<div class="internal">{html.escape(report.notice)}</div>'
        f'<nav>{nav}<a href="#parameters">参数</a></nav><main>'
        f"{''.join(sections)}"
        + (f'<section id="links"><h2>相关报告</h2><ul class="links">{links}</ul></section>' if links else "")
        + '<section id="parameters"><h2>参数</h2><p class="intro">本报告所用的运行参数。</p>'
        f'<table id="t-parameters"><tbody>{params}</tbody></table></section>'
        f"</main><script>{SCRIPT}</script></body></html>")
