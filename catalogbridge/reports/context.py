"""What every report of a run shares: names, parameters, the charts already drawn, and the
small national aggregates (regions x reasons, groups x members) collected once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from catalogbridge.reports.settings import ReportSettings
from catalogbridge.reports.titles import region_name


@dataclass(frozen=True)
class Aggregates:
    """Per-region aggregates, each bounded by regions (x reasons, x groups)."""

    quarantine: pd.DataFrame  # insured_admdvs, reason, rows, fees
    coverage: pd.DataFrame  # insured_admdvs, rows, fees, mapped_fees (clean rows of its insured)
    queue: pd.DataFrame  # catalog_region, items, fee_at_stake (items awaiting review)
    balance: pd.DataFrame  # flow_balance
    groups: pd.DataFrame  # group_summary
    recon: pd.DataFrame  # treatment_admdvs, rows, clean_rows, quarantined_rows

    def of(self, name: str, column: str, region: str) -> pd.DataFrame:
        frame: pd.DataFrame = getattr(self, name)
        return frame[frame[column] == region].drop(columns=[column]).reset_index(drop=True)


@dataclass(frozen=True)
class Context:
    settings: ReportSettings
    region_names: Mapping[str, str]
    parameters: tuple[tuple[str, str], ...]
    aggregates: Aggregates
    chart: Callable[[str], bytes | None]  # a chart file under the exports folder, if drawn
    scheme_chart: Callable[[str, str, pd.DataFrame], bytes | None]  # Figure 1 of a pair's rows
    run_id: str

    def name(self, code: str) -> str:
        return region_name(code, self.region_names)
