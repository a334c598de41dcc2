"""A report as data: sections of explained tables and pictures, rendered as an HTML page
(`html`) and as a workbook (`workbook`) from the same object, so both show the same numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class Table:
    """A table with technical column names (titles are applied when rendered).

    `key` names the workbook sheet and the HTML anchor; `shown` rows go on the page (all
    go to the workbook), so a long list says how many more there are instead of growing
    the page.
    """

    key: str
    title: str
    note: str  # what the table shows and how to read it (Chinese)
    frame: pd.DataFrame
    shown: int | None = None  # rows on the page; None: all

    @property
    def hidden_rows(self) -> int:
        return 0 if self.shown is None else max(len(self.frame) - self.shown, 0)


@dataclass(frozen=True)
class Picture:
    """A chart, embedded in the page as a data URL (PNG bytes)."""

    key: str
    title: str
    note: str
    png: bytes


@dataclass(frozen=True)
class Figures:
    """Key figures shown as a row of boxes at the top of a section: (label, value text)."""

    items: tuple[tuple[str, str], ...]


Part = Table | Picture | Figures


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    intro: str = ""
    parts: tuple[Part, ...] = ()
    omitted: str = ""  # why the section has no content (e.g. no flow columns in the data)


@dataclass(frozen=True)
class Report:
    """One HTML page and one workbook: `name` is the file stem."""

    name: str
    title: str
    subtitle: str
    sections: tuple[Section, ...]
    notice: str = ""  # the banner: which numbers are exact and which published
    parameters: tuple[tuple[str, str], ...] = ()  # (parameter, value) used by the run
    links: tuple[tuple[str, str], ...] = field(default=())  # (label, relative href)

    def tables(self) -> list[Table]:
        return [p for s in self.sections for p in s.parts if isinstance(p, Table)]

    def sheet_names(self) -> dict[str, str]:
        """Table key -> its workbook sheet: the title without the characters Excel refuses,
        at most 31 characters, numbered where two would be equal (the page names it too)."""
        names: dict[str, str] = {}
        for table in self.tables():
            base = "".join("_" if ch in _NOT_IN_SHEET_NAMES else ch for ch in table.title)[:28]
            name, number = base, 2
            while name in names.values() or name in RESERVED_SHEETS:
                name, number = f"{base}_{number}", number + 1
            names[table.key] = name
        return names


_NOT_IN_SHEET_NAMES = set('[]:*?/\\')
RESERVED_SHEETS = ("说明", "参数")  # the workbook's own first sheets
