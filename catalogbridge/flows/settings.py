"""Settings of the cross-region care analytics (conf `flows`), owned by `catalogbridge.flows`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from catalogbridge.flows.regions import load_regions
from catalogbridge.settings import SettingError, check_choice

# 异地备案类别: the NHSA filing types of cross-region care (long-term: settled retirees,
# long-term residents, posted workers; temporary: referrals, emergencies, other).
DEFAULT_FILING_TYPES = {
    "1": "异地安置退休", "2": "异地长期居住", "3": "常驻异地工作",
    "4": "异地转诊", "5": "急诊抢救", "6": "其他临时外出就医",
}
# NHSA 医院等级 codes (hosp_lv); the tier is the name's first two characters (三级, 二级 …).
DEFAULT_HOSPITAL_LEVELS = {
    "01": "三级特等", "02": "三级甲等", "03": "三级乙等", "04": "三级丙等",
    "05": "二级甲等", "06": "二级乙等", "07": "二级丙等",
    "08": "一级甲等", "09": "一级乙等", "10": "一级丙等", "11": "未定级",
}
BASELINES = ("previous_period", "same_period_last_year")
PERIODS = ("month", "quarter")
MEASURES = ("fees", "visits")
LEVELS = ("province", "city")


@dataclass(frozen=True)
class AlertSettings:
    """Surge alerts for joint checks (双地联查): an institution's cross-region billing in a
    period against a baseline period."""

    surge_pct: float = 20.0  # rise (%) of `measure` that raises an alert
    measure: str = "fees"  # fees | visits
    period: str = "month"  # month | quarter
    baseline: str = "previous_period"  # previous_period | same_period_last_year
    min_baseline_visits: int = 30  # smaller institutions would flood the list with noise
    min_baseline_fees: float = 10_000.0  # yuan
    top_drivers: int = 5  # items and insured regions listed per alert

    def __post_init__(self) -> None:
        check_choice("measure", self.measure, MEASURES)
        check_choice("period", self.period, PERIODS)
        check_choice("baseline", self.baseline, BASELINES)
        if self.surge_pct <= 0:
            raise SettingError("surge_pct", f"must be above 0 (a rise in %), got {self.surge_pct}")
        if self.min_baseline_visits < 1:
            raise SettingError("min_baseline_visits", "must be at least 1 (a baseline without "
                                                      "visits cannot be compared)")
        if self.min_baseline_fees < 0:
            raise SettingError("min_baseline_fees", "must be 0 or more yuan")
        if self.top_drivers < 1:
            raise SettingError("top_drivers", "must be at least 1")


@dataclass(frozen=True)
class FlowSettings:
    """Flows between regions, who travels, cost benchmarks and surge alerts."""

    region_level: str = "province"  # province | city: the level of flow keys (from raw codes)
    regions_path: str | None = None  # region reference (codes, centroids, population); null = shipped
    filing_types: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FILING_TYPES))
    hospital_levels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_HOSPITAL_LEVELS))
    top_institutions: int = 10  # concentration: share of a region's top-N institutions
    alerts: AlertSettings = field(default_factory=AlertSettings)

    def __post_init__(self) -> None:
        check_choice("region_level", self.region_level, LEVELS)
        if self.top_institutions < 1:
            raise SettingError("top_institutions", "must be at least 1")
        for key, names in (("filing_types", self.filing_types),
                           ("hospital_levels", self.hospital_levels)):
            blank = [code for code, name in names.items() if not str(code).strip() or not str(name).strip()]
            if blank:
                raise SettingError(key, f"code {blank[0]!r} has a blank code or name; give each "
                                        "code its name, e.g. {\"1\": 异地安置退休}")
            if len(set(names.values())) < len(names):
                raise SettingError(key, "two codes share one name; each name once")

    def regions(self) -> pd.DataFrame:
        """The region reference: `regions_path`, or the shipped table."""
        return load_regions(Path(self.regions_path) if self.regions_path else None)
