"""The run's typed configuration: each concern's settings model, composed in one tree.

Every section is owned by the module that uses it; this module only puts them together and
loads them (base YAML + overlay + `--set`), so a key exists exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalogbridge.decisions.settings import DecisionSettings
from catalogbridge.flows.settings import FlowSettings
from catalogbridge.io.readers import InputsSettings
from catalogbridge.io.session import SparkSettings
from catalogbridge.io.store import OutputSettings
from catalogbridge.matching.settings import MatchingSettings
from catalogbridge.privacy.settings import PrivacySettings
from catalogbridge.quality.rules import QualitySettings
from catalogbridge.reports.settings import ReportSettings
from catalogbridge.settings import load_settings, settings_from_dict
from catalogbridge.transforms.cleaning import AnalysisSettings
from catalogbridge.transforms.discrepancy import ClassificationSettings
from catalogbridge.transforms.scenarios import ScenarioSettings


@dataclass(frozen=True)
class PipelineConfig:
    inputs: InputsSettings
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    matching: MatchingSettings = field(default_factory=MatchingSettings)
    classification: ClassificationSettings = field(default_factory=ClassificationSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)
    scenario: ScenarioSettings = field(default_factory=ScenarioSettings)
    decision: DecisionSettings = field(default_factory=DecisionSettings)
    flows: FlowSettings = field(default_factory=FlowSettings)
    output: OutputSettings = field(default_factory=OutputSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    spark: SparkSettings = field(default_factory=SparkSettings)
    run_id: str | None = None


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> PipelineConfig:
    """Load a YAML file (following `extends:`), apply `key=value` overrides, validate."""
    return load_settings(PipelineConfig, path, overrides)


def config_from_dict(raw: Mapping[str, Any]) -> PipelineConfig:
    return settings_from_dict(PipelineConfig, raw)
