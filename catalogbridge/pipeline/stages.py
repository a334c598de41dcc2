"""The stage table: what each stage reads, which node it runs, what it writes.

One declarative table drives `run_pipeline`, every stage's command line (`python -m
jobs.<stage>`), the progress lines and the tests (Kedro's nodes vs pipeline is the model).

Datasets named in `inputs` and `outputs`:
- a table name (`catalogbridge.names`): a table under `output.path`;
- `input:<name>`: the raw input `inputs.<name>` read under its contract;
- `supervision_limits`: the NHSA gender- and age-limited item lists (None when off);
- `quality_history` (input: the previous run's report; output: this run's, kept);
- `exports/<file>.json` / `.md`: documents written under `output.exports`;
- `exports/charts`: scheme rows, one PNG per pair.
`exports` lists the tables a stage publishes as Excel-friendly CSV, in the given order.
`params` are node keywords the run serves: a conf section, `spark`, `run_id`, `table_format`,
or `charts` (output.charts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from catalogbridge.names import (
    CATALOG_MAPPING,
    CLASS_SUMMARY,
    DISCREPANT_ITEMS,
    INSURED,
    ITEM_STATS,
    NATIONAL_ITEMS,
    RECONCILIATION,
    REVIEW_QUEUE,
    SCENARIO_RESULTS,
    SETTLEMENTS_CLEAN,
    SETTLEMENTS_QUARANTINE,
    TREATMENT,
)
from catalogbridge.pipeline import nodes
from catalogbridge.quality.reconciliation import check_reconciliation


@dataclass(frozen=True)
class CsvExport:
    table: str
    order: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stage:
    name: str
    node: Callable[..., Mapping[str, Any]]
    inputs: Mapping[str, str]
    outputs: tuple[str, ...]
    params: tuple[str, ...] = ()
    exports: tuple[CsvExport, ...] = ()
    checks: Mapping[str, Callable[[Any], None]] | None = None  # table -> check of what was written

    @property
    def summary(self) -> str:
        return (self.node.__doc__ or self.name).strip().splitlines()[0]


STAGES: tuple[Stage, ...] = (
    Stage("ingest_national", nodes.ingest_national, {"raw": "input:national_items"},
          (NATIONAL_ITEMS,), params=("inputs",)),
    Stage("map_catalogs", nodes.map_catalogs,
          {"raw": "input:catalogs", "national": NATIONAL_ITEMS}, (CATALOG_MAPPING,),
          params=("spark", "run_id", "inputs", "matching", "analysis")),
    Stage("clean_settlements", nodes.clean_settlements,
          {"settlements": "input:settlements", "mapping": CATALOG_MAPPING,
           "national": NATIONAL_ITEMS, "limits": "supervision_limits"},
          (SETTLEMENTS_CLEAN, SETTLEMENTS_QUARANTINE), params=("analysis", "quality")),
    Stage("reconcile", nodes.reconcile,
          {"settlements": "input:settlements", "clean": SETTLEMENTS_CLEAN,
           "quarantine": SETTLEMENTS_QUARANTINE}, (RECONCILIATION,), params=("analysis",),
          checks={RECONCILIATION: check_reconciliation}),
    Stage("review_queue", nodes.queue_for_review,
          {"mapping": CATALOG_MAPPING, "clean": SETTLEMENTS_CLEAN, "national": NATIONAL_ITEMS},
          (REVIEW_QUEUE,), exports=(CsvExport(REVIEW_QUEUE, ("queue_rank",)),)),
    Stage("item_stats", nodes.count_items, {"clean": SETTLEMENTS_CLEAN}, (ITEM_STATS,)),
    Stage("discrepancy", nodes.find_discrepancies,
          {"stats": ITEM_STATS, "mapping": CATALOG_MAPPING, "national": NATIONAL_ITEMS},
          (DISCREPANT_ITEMS,), params=("classification",)),
    Stage("scenarios", nodes.simulate_schemes,
          {"discrepant": DISCREPANT_ITEMS, "stats": ITEM_STATS},
          (SCENARIO_RESULTS, CLASS_SUMMARY), params=("spark", "scenario")),
    Stage("report", nodes.summarise_run,
          {"schemes": SCENARIO_RESULTS, "clean": SETTLEMENTS_CLEAN,
           "quarantine": SETTLEMENTS_QUARANTINE, "mapping": CATALOG_MAPPING,
           "queue": REVIEW_QUEUE, "discrepant": DISCREPANT_ITEMS},
          ("exports/run_summary.json", "exports/charts"),
          params=("run_id", "table_format", "charts"),
          exports=(CsvExport(DISCREPANT_ITEMS, (INSURED, TREATMENT, "visits_treatment")),
                   CsvExport(SCENARIO_RESULTS, (INSURED, TREATMENT, "scheme")),
                   CsvExport(CLASS_SUMMARY, (INSURED, TREATMENT, "grouping", "group_code")))),
    Stage("quality_report", nodes.report_quality,
          {"clean": SETTLEMENTS_CLEAN, "quarantine": SETTLEMENTS_QUARANTINE,
           "recon": RECONCILIATION, "previous": "quality_history"},
          ("exports/quality_report.json", "exports/quality_report.md", "quality_history"),
          params=("run_id", "analysis", "quality")),
)

STAGE_BY_NAME = {stage.name: stage for stage in STAGES}
