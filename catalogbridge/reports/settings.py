"""Report settings (conf `report`): the HTML reports and workbooks, and the column titles of
every published file."""

from __future__ import annotations

from dataclasses import dataclass, field

from catalogbridge.settings import SettingError, check_choice

HEADERS = ("chinese", "technical")
COUNTS = ("published", "exact")
PUBLISHED_NOTICE = ("内部资料：预算、敏感性、流向等分析为精确数值，未经小格抑制，仅供有数据权限的人员使用；"
                    "人次类表格与图1取自已做小格抑制的发布表（隐藏值显示为抑制标记）。")
EXACT_NOTICE = ("内部资料：全部为精确数值（report.counts: exact），含未经小格抑制的少量人次，"
                "仅供有数据权限的人员使用，不得对外发布。")


@dataclass(frozen=True)
class ReportSettings:
    """One HTML report and workbook per insured region, a national overview and an index."""

    enabled: bool = True
    # CSV exports, reports and workbooks: Chinese titles with names beside codes, or the
    # technical names and bare codes (for machine use).
    headers: str = "chinese"
    # Tables of counts (Tables 1-4, item lists, the decision view) and Figure 1: the published
    # copies (small counts hidden) or the exact tables, for readers with access to the data.
    counts: str = "published"
    regions: list[str] = field(default_factory=list)  # insured regions to report; empty: all
    page_rows: int = 25  # rows of a long table on the page; the workbook has all of them
    top_items: int = 50  # national overview: the items most often discrepant
    max_page_mb: float = 5.0  # a page above this is reported in the log as over budget
    xlsx: bool = True

    def __post_init__(self) -> None:
        check_choice("headers", self.headers, HEADERS)
        check_choice("counts", self.counts, COUNTS)
        for key in ("page_rows", "top_items"):
            if getattr(self, key) < 1:
                raise SettingError(key, f"must be at least 1, got {getattr(self, key)}")
        if self.max_page_mb <= 0:
            raise SettingError("max_page_mb", f"must be positive, got {self.max_page_mb}")
        for code in self.regions:
            if not (isinstance(code, str) and len(code) == 6 and code.isdigit()):
                raise SettingError("regions", f"{code!r} is not a 6-digit region code")

    @property
    def chinese(self) -> bool:
        return self.headers == "chinese"

    @property
    def exact(self) -> bool:
        return self.counts == "exact"

    @property
    def notice(self) -> str:
        """The banner of every page and workbook: what is exact, what is published."""
        return EXACT_NOTICE if self.exact else PUBLISHED_NOTICE
