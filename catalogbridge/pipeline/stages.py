"""The stage table: what each stage reads, which node it runs, what it writes.

One declarative table drives `run_pipeline`, every stage's command line (`python -m
jobs.<stage>`), the progress lines and the tests (Kedro's nodes vs pipeline is the model).

Datasets named in `inputs` and `outputs`:
- a table name (`catalogbridge.names`): a table under `output.path`, or a view of one
  (`VIEWS`), as this run wrote it (or, if it did not, as the last run left it);
- `previous:<table>`: the table as the last run left it (None before the first run);
- `input:<name>`: the raw input `inputs.<name>` read under its contract (settlements: the
  delivered files, read month by month);
- `supervision_limits`: the NHSA gender- and age-limited item lists (None when off);
- `quality_history` (input: the previous run's report; output: this run's, kept);
- `exports/<file>.json` / `.md`: documents written under `output.exports`;
- `exports/charts`: scheme rows, one PNG per pair;
- `exports/decision_charts`: the decision tables, three PNGs per insured region (internal);
- `exports/flow_charts`: the flow tables, five PNGs (internal/charts/flows);
- `exports/reports`: the tables of the HTML reports and workbooks (internal/reports).
`exports` lists the tables a stage exports as Excel-friendly CSV, in the given order.
`params` are node keywords the run serves: a conf section, `spark`, `run_id`, `table_format`,
or `charts` (output.charts). A `reusable` stage keeps its tables when nothing it reads
changed (`catalogbridge.pipeline.reuse`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from pyspark.sql import DataFrame

from catalogbridge.decisions.impact import UNIT_KEY
from catalogbridge.names import (
    BUDGET_FRONTIER,
    BUDGET_IMPACT,
    BUDGET_SENSITIVITY,
    CATALOG_MAPPING,
    CLASS_SUMMARY,
    COST_BENCHMARKS,
    DISCLOSURE_CELLS,
    DISCREPANT_ITEMS,
    FLOW_BALANCE,
    FLOW_CONCENTRATION,
    FLOW_DESTINATIONS,
    FLOW_DISTANCE,
    FLOW_GRAVITY,
    FLOW_PANEL,
    FLOW_QUALITY,
    FLOW_TRAVELLERS,
    FLOW_VISITS,
    GROUP_HARMONISATION,
    GROUP_SUMMARY,
    GROUP_USE,
    INSURED,
    INSURED_DECISIONS,
    INSURED_SCENARIOS,
    ITEM_MED_TYPES,
    ITEM_STATS,
    MONTH,
    NATIONAL_ITEMS,
    OPTIMAL_ITEMS,
    PUBLISHED_TABLES,
    RECONCILIATION,
    REVIEW_QUEUE,
    SCENARIO_RESULTS,
    SCHEME_COMPARISON,
    SETTLEMENT_DELIVERIES,
    SETTLEMENT_ROWS,
    SETTLEMENTS_CLEAN,
    SETTLEMENTS_QUARANTINE,
    STATUS,
    SUPPRESSION_LOG,
    SURGE_ALERTS,
    SURGE_DRIVERS,
    TREATMENT,
)
from catalogbridge.pipeline import flow_nodes, nodes, report_nodes
from catalogbridge.quality.reconciliation import check_reconciliation
from catalogbridge.transforms.cleaning import clean_rows, quarantined_rows

EXPORTS_PREFIX = "exports/"
HISTORY_DIR = "quality_history"
INTERNAL_DIR = "internal"


def is_table(ref: str) -> bool:
    """Whether a dataset name of the stage table names a table (or view) under output.path."""
    return not ref.startswith((EXPORTS_PREFIX, "input:", "previous:")) and \
        ref not in (HISTORY_DIR, "supervision_limits")


@dataclass(frozen=True)
class CsvExport:
    """A table exported as CSV: published (suppressed) files at the top of `output.exports`,
    exact internal ones under `internal/` for analysts with access to the data."""

    table: str
    order: tuple[str, ...] = ()
    file: str = ""  # the file's name without .csv; default: the table's
    internal: bool = False
    readable: bool = True  # Chinese titles under report.headers: chinese (False: read back as input)

    @property
    def path(self) -> str:
        return f"{INTERNAL_DIR + '/' if self.internal else ''}{self.file or self.table}.csv"


def internal(*exports: CsvExport) -> tuple[CsvExport, ...]:
    """Exports of exact values not yet under disclosure control (README, Privacy)."""
    return tuple(replace(e, internal=True) for e in exports)


def published(table: str, *order: str) -> CsvExport:
    """The published copy of `table`, exported under the table's own name. Ordered by keys
    only: an order by a hidden value would place it between its neighbours."""
    return CsvExport(PUBLISHED_TABLES[table], order, file=table)


@dataclass(frozen=True)
class Stage:
    name: str
    node: Callable[..., Mapping[str, Any]]
    inputs: Mapping[str, str]
    outputs: tuple[str, ...]
    params: tuple[str, ...] = ()
    exports: tuple[CsvExport, ...] = ()
    checks: Mapping[str, Callable[[Any], None]] | None = None  # table -> check of what was written
    partition_by: Mapping[str, tuple[str, ...]] | None = None  # table -> partition columns
    reusable: bool = False  # tables kept when nothing it reads changed (pipeline.reuse)

    @property
    def summary(self) -> str:
        return (self.node.__doc__ or self.name).strip().splitlines()[0]


@dataclass(frozen=True)
class View:
    """A dataset computed from a table whenever it is read (no storage of its own)."""

    table: str
    transform: Callable[[DataFrame], DataFrame]


# What the HTML reports and workbooks read (`reports.writer`), each by its own name.
REPORT_TABLES = (
    *PUBLISHED_TABLES.values(), DISCREPANT_ITEMS, SCENARIO_RESULTS, CLASS_SUMMARY, INSURED_DECISIONS,
    INSURED_SCENARIOS, GROUP_SUMMARY, BUDGET_IMPACT, BUDGET_SENSITIVITY, BUDGET_FRONTIER,
    SCHEME_COMPARISON, FLOW_DESTINATIONS, FLOW_BALANCE, FLOW_GRAVITY, COST_BENCHMARKS, SURGE_ALERTS,
    SURGE_DRIVERS, SETTLEMENTS_CLEAN, SETTLEMENTS_QUARANTINE, REVIEW_QUEUE, RECONCILIATION)

VIEWS: Mapping[str, View] = {
    SETTLEMENTS_CLEAN: View(SETTLEMENT_ROWS, clean_rows),
    SETTLEMENTS_QUARANTINE: View(SETTLEMENT_ROWS, quarantined_rows),
}

STAGES: tuple[Stage, ...] = (
    Stage("ingest_national", nodes.ingest_national, {"raw": "input:national_items"},
          (NATIONAL_ITEMS,), params=("inputs",), reusable=True),
    Stage("map_catalogs", nodes.map_catalogs,
          {"raw": "input:catalogs", "national": NATIONAL_ITEMS}, (CATALOG_MAPPING,),
          params=("spark", "run_id", "inputs", "matching", "analysis"), reusable=True),
    Stage("clean_settlements", nodes.clean_settlements,
          {"source": "input:settlements", "stored": f"previous:{SETTLEMENT_ROWS}",
           "delivered": f"previous:{SETTLEMENT_DELIVERIES}", "mapping": CATALOG_MAPPING,
           "national": NATIONAL_ITEMS, "limits": "supervision_limits"},
          (SETTLEMENT_ROWS, SETTLEMENT_DELIVERIES), params=("spark", "run_id", "analysis", "quality"),
          partition_by={SETTLEMENT_ROWS: (MONTH, STATUS)}),
    Stage("reconcile", nodes.reconcile,
          {"source": "input:settlements", "rows": SETTLEMENT_ROWS,
           "deliveries": SETTLEMENT_DELIVERIES, "previous": f"previous:{RECONCILIATION}"},
          (RECONCILIATION,), params=("analysis",),
          checks={RECONCILIATION: check_reconciliation}),
    Stage("review_queue", nodes.queue_for_review,
          {"mapping": CATALOG_MAPPING, "clean": SETTLEMENTS_CLEAN, "national": NATIONAL_ITEMS},
          (REVIEW_QUEUE,), exports=internal(CsvExport(REVIEW_QUEUE, ("queue_rank",), readable=False))),
    Stage("item_stats", nodes.count_items, {"clean": SETTLEMENTS_CLEAN},
          (ITEM_STATS, ITEM_MED_TYPES)),
    Stage("discrepancy", nodes.find_discrepancies,
          {"stats": ITEM_STATS, "mapping": CATALOG_MAPPING, "national": NATIONAL_ITEMS},
          (DISCREPANT_ITEMS,), params=("classification",)),
    Stage("scenarios", nodes.simulate_schemes,
          {"discrepant": DISCREPANT_ITEMS, "stats": ITEM_STATS},
          (SCENARIO_RESULTS, CLASS_SUMMARY), params=("spark", "scenario")),
    Stage("insured_decisions", nodes.decide_per_insured,
          {"discrepant": DISCREPANT_ITEMS, "stats": ITEM_STATS},
          (INSURED_DECISIONS, INSURED_SCENARIOS), params=("spark", "scenario", "decision")),
    Stage("group_harmonisation", nodes.harmonise_groups,
          {"stats": ITEM_STATS, "mapping": CATALOG_MAPPING, "national": NATIONAL_ITEMS},
          (GROUP_HARMONISATION, GROUP_USE, GROUP_SUMMARY),
          params=("spark", "classification", "decision", "analysis"),
          exports=internal(
              CsvExport(GROUP_HARMONISATION, ("group_name", "rule", INSURED, "national_code")),
              CsvExport(GROUP_SUMMARY, ("group_name", "rule", INSURED)))),
    Stage("budget_impact", nodes.estimate_budget,
          {"discrepant": DISCREPANT_ITEMS, "decisions": INSURED_DECISIONS,
           "pair_schemes": SCENARIO_RESULTS, "insured_schemes": INSURED_SCENARIOS,
           "group_use": GROUP_USE, "groups": GROUP_SUMMARY, "med_types": ITEM_MED_TYPES},
          (BUDGET_IMPACT, BUDGET_SENSITIVITY), params=("spark", "scenario", "decision"),
          exports=internal(CsvExport(BUDGET_IMPACT, (*UNIT_KEY, "year")),
                           CsvExport(BUDGET_SENSITIVITY, (*UNIT_KEY, "swing_rank")))),
    Stage("budget_selection", nodes.select_within_budget,
          {"discrepant": DISCREPANT_ITEMS, "decisions": INSURED_DECISIONS,
           "pair_schemes": SCENARIO_RESULTS, "insured_schemes": INSURED_SCENARIOS},
          (BUDGET_FRONTIER, OPTIMAL_ITEMS, SCHEME_COMPARISON), params=("scenario", "decision"),
          exports=internal(CsvExport(BUDGET_FRONTIER, (*UNIT_KEY, "cap_index")),
                           CsvExport(SCHEME_COMPARISON, (*UNIT_KEY, "scheme")))),
    Stage("flow_visits", flow_nodes.summarise_visits,
          {"clean": SETTLEMENTS_CLEAN, "institutions": "input:institutions"}, (FLOW_VISITS,),
          params=("flows",)),
    Stage("flows", flow_nodes.analyse_flows, {"visits": FLOW_VISITS},
          (FLOW_PANEL, FLOW_DESTINATIONS, FLOW_BALANCE, FLOW_CONCENTRATION, FLOW_DISTANCE,
           FLOW_GRAVITY, FLOW_TRAVELLERS, COST_BENCHMARKS, FLOW_QUALITY),
          params=("spark", "flows"),
          exports=internal(
              CsvExport(FLOW_PANEL, (INSURED, TREATMENT, "period", "med_type", "cross_level")),
              CsvExport(FLOW_DESTINATIONS, (INSURED, "rank")),
              CsvExport(FLOW_BALANCE, ("admdvs",)),
              CsvExport(FLOW_CONCENTRATION, (TREATMENT, "grouping", "group")),
              CsvExport(FLOW_DISTANCE, (INSURED, TREATMENT)),
              CsvExport(FLOW_GRAVITY),
              CsvExport(FLOW_TRAVELLERS, (INSURED, TREATMENT, "dimension", "value")),
              CsvExport(COST_BENCHMARKS, (INSURED, TREATMENT, "med_type")),
              CsvExport(FLOW_QUALITY, ("check", "side", "value")))),
    Stage("surge_alerts", flow_nodes.raise_surge_alerts, {"visits": FLOW_VISITS},
          (SURGE_ALERTS,), params=("flows",),
          exports=internal(CsvExport(SURGE_ALERTS, ("alert_rank",)))),
    Stage("surge_drivers", flow_nodes.explain_surges,
          {"alerts": SURGE_ALERTS, "visits": FLOW_VISITS, "clean": SETTLEMENTS_CLEAN},
          (SURGE_DRIVERS,), params=("flows",),
          exports=internal(CsvExport(SURGE_DRIVERS, ("alert_rank", "driver", "driver_rank")))),
    Stage("flow_charts", flow_nodes.draw_flow_charts,
          {"destinations": FLOW_DESTINATIONS, "balance": FLOW_BALANCE, "panel": FLOW_PANEL,
           "distance": FLOW_DISTANCE, "gravity": FLOW_GRAVITY, "alerts": SURGE_ALERTS},
          ("exports/flow_charts",), params=("flows", "charts")),
    Stage("publish", nodes.publish_tables,
          {"discrepant": DISCREPANT_ITEMS, "classes": CLASS_SUMMARY,
           "pair_schemes": SCENARIO_RESULTS, "decisions": INSURED_DECISIONS,
           "insured_schemes": INSURED_SCENARIOS},
          (DISCLOSURE_CELLS, *PUBLISHED_TABLES.values(), SUPPRESSION_LOG),
          params=("scenario", "decision", "privacy"),
          exports=(published(DISCREPANT_ITEMS, INSURED, TREATMENT, "national_code"),
                   published(SCENARIO_RESULTS, INSURED, TREATMENT, "scheme"),
                   published(CLASS_SUMMARY, INSURED, TREATMENT, "grouping", "group_code"),
                   published(INSURED_DECISIONS, INSURED, "national_code"),
                   published(INSURED_SCENARIOS, INSURED, "scheme"),
                   CsvExport(SUPPRESSION_LOG, ("table", INSURED)))),
    Stage("report", report_nodes.summarise_run,
          {"schemes": PUBLISHED_TABLES[SCENARIO_RESULTS], "clean": SETTLEMENTS_CLEAN,
           "quarantine": SETTLEMENTS_QUARANTINE, "mapping": CATALOG_MAPPING,
           "queue": REVIEW_QUEUE, "discrepant": DISCREPANT_ITEMS, "stats": ITEM_STATS,
           "insured": INSURED_SCENARIOS, "groups": GROUP_SUMMARY, "impact": BUDGET_IMPACT,
           "sensitivity": BUDGET_SENSITIVITY, "frontier": BUDGET_FRONTIER},
          ("exports/run_summary.json", "exports/charts", "exports/decision_charts"),
          params=("run_id", "table_format", "charts", "decision")),
    Stage("quality_report", report_nodes.report_quality,
          {"clean": SETTLEMENTS_CLEAN, "quarantine": SETTLEMENTS_QUARANTINE,
           "recon": RECONCILIATION, "deliveries": SETTLEMENT_DELIVERIES,
           "flows": FLOW_QUALITY, "previous": "quality_history"},
          ("exports/quality_report.json", "exports/quality_report.md", "quality_history"),
          params=("run_id", "analysis", "quality")),
    Stage("reports", report_nodes.write_reports,
          {name: name for name in REPORT_TABLES}, ("exports/reports",),
          params=("run_id", "report", "flows", "analysis", "scenario", "decision", "privacy")),
)

STAGE_BY_NAME = {stage.name: stage for stage in STAGES}
