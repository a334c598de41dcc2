"""Matching settings (conf `matching`): the matcher's own parameters plus where its lists live."""

from __future__ import annotations

from dataclasses import dataclass

from catalogbridge.settings import SettingError
from udfs.matching import MatchParams


@dataclass(frozen=True)
class MatchingSettings(MatchParams):
    """`MatchParams` (what the pure core decides with) and what only the Spark side reads.

    Being a `MatchParams`, the settings go to the core as they are: no adapter to keep in step.
    """

    synonyms_path: str | None = "conf/synonyms.yaml"  # null = no synonym lists
    decisions_path: str | None = None  # reviewers' decisions (CSV from review_queue.csv, or YAML)
    partitions: int = 0  # matching tasks; 0 = Spark's default parallelism

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.partitions < 0:
            raise SettingError("partitions", "must be >= 0 (0 = Spark's default)")
