"""Runs stages from the stage table: loads their datasets, calls the node, writes the outputs.

All reading and writing of a run happens here, and so does what the user sees: one line
when a stage starts (`stage 3/15 clean_settlements …`) and one when it ends, with its time
and, per output, the rows written (counted while writing, not by another pass over the
data) and the seconds it took.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from catalogbridge.io.contracts import CATALOGS, INSTITUTIONS, NATIONAL_ITEMS, SETTLEMENTS
from catalogbridge.io.deliveries import SettlementSource
from catalogbridge.io.exports import export_csv, write_json, write_text
from catalogbridge.io.readers import InputError, read_input
from catalogbridge.io.session import get_spark
from catalogbridge.io.store import PartitionReplace, TableStore
from catalogbridge.names import STAGE_INPUTS
from catalogbridge.pipeline import reuse
from catalogbridge.pipeline import stages as stage_table
from catalogbridge.pipeline.config import PipelineConfig
from catalogbridge.pipeline.stages import (
    EXPORTS_PREFIX,
    HISTORY_DIR,
    INTERNAL_DIR,
    CsvExport,
    Stage,
    is_table,
)
from catalogbridge.privacy.pseudonyms import Pseudonymiser
from catalogbridge.quality.rules import load_supervision_limits
from catalogbridge.reporting.charts import write_scheme_charts
from catalogbridge.reporting.decision_charts import write_decision_charts
from catalogbridge.reporting.flow_charts import write_flow_charts
from catalogbridge.reports.titles import readable
from catalogbridge.reports.writer import write_reports
from catalogbridge.settings import SettingError

log = logging.getLogger("catalogbridge")

CONTRACTS = {c.name: c for c in (NATIONAL_ITEMS, CATALOGS, SETTLEMENTS, INSTITUTIONS)}
SETTLEMENT_FILES = "input:settlements"


@dataclass(frozen=True)
class Run:
    """One run: its configuration, session, table store and id.

    With `as_of` (an earlier run's id) the tables are read as that run left them, and
    exports go to `exports/as_of_<run id>/`.
    """

    cfg: PipelineConfig
    spark: SparkSession
    store: TableStore
    run_id: str
    documents: dict[Path, dict[str, Any]] = field(default_factory=dict)  # JSON written
    sources: dict[str, SettlementSource] = field(default_factory=dict)  # listed once per run
    keys: dict[str, Pseudonymiser] = field(default_factory=dict)  # loaded once per run
    region_names: dict[str, str] = field(default_factory=dict)  # code -> name, read once per run

    @classmethod
    def start(cls, cfg: PipelineConfig, as_of: str | None = None) -> Run:
        spark = get_spark(cfg.spark)
        run_id = cfg.run_id or dt.datetime.now().strftime("%Y%m%dT%H%M%S")
        return cls(cfg=cfg, spark=spark, run_id=run_id,
                   store=TableStore(spark, cfg.output, run_id, as_of=as_of))

    @property
    def exports(self) -> Path:
        exports = self.cfg.output.exports
        return exports if self.store.as_of is None else exports / f"as_of_{self.store.as_of}"

    def record_versions(self) -> None:
        """Add the version of every table read or committed to the JSON documents written."""
        for path, document in self.documents.items():
            write_json({**document, "table_versions": dict(sorted(self.store.versions.items())),
                        "as_of": self.store.as_of}, path)

    def presentation(self, export: CsvExport) -> Callable[[DataFrame], DataFrame] | None:
        """How an export's rows are shown: Chinese titles and names beside codes
        (`report.headers: chinese`), or as stored; files read back as input stay technical."""
        if not (self.cfg.report.chinese and export.readable):
            return None
        if not self.region_names:
            names = self.cfg.flows.regions()
            self.region_names.update(zip(names["code"].astype(str), names["name"].astype(str),
                                         strict=True))
        return lambda df: readable(df, region_names=self.region_names)

    def pseudonymiser(self) -> Pseudonymiser:
        """How identifiers become pseudonyms; without a usable key the run stops here."""
        if "privacy" not in self.keys:
            try:
                self.keys["privacy"] = self.cfg.privacy.pseudonymiser()
            except SettingError as exc:
                raise InputError(f"privacy.{exc}") from None
        return self.keys["privacy"]

    def load(self, ref: str) -> Any:
        if ref == SETTLEMENT_FILES:
            if ref not in self.sources:
                self.sources[ref] = SettlementSource.open(
                    self.spark, self.cfg.inputs.settlements, self.pseudonymiser())
            return self.sources[ref]
        if ref.startswith("input:"):
            spec = getattr(self.cfg.inputs, ref.removeprefix("input:"))
            return None if spec is None else read_input(
                self.spark, spec, CONTRACTS[ref.removeprefix("input:")])
        if ref.startswith("previous:"):
            return self.store.read_previous(ref.removeprefix("previous:"))
        if ref in stage_table.VIEWS:
            view = stage_table.VIEWS[ref]
            return view.transform(self.store.read(view.table))
        if ref == "supervision_limits":
            return load_supervision_limits(self.spark, self.cfg.quality)
        if ref == HISTORY_DIR:
            return previous_report(self.exports / HISTORY_DIR, self.run_id)
        return self.store.read(ref)

    def param(self, name: str) -> Any:
        served = {"spark": self.spark, "run_id": self.run_id, "table_format": self.store.format,
                  "charts": self.cfg.output.charts}
        return served[name] if name in served else getattr(self.cfg, name)

    def save(self, ref: str, value: Any, partition_by: Sequence[str] = ()) -> str | None:
        """Write one output; a short note of what was written, for the progress line."""
        if ref == HISTORY_DIR:
            self.documents[write_json(value, self.exports / HISTORY_DIR / f"{self.run_id}.json")] = value
            return None
        if ref == "exports/charts":
            if value is None:
                return None
            count = write_scheme_charts(value, self.exports / "charts", os.cpu_count() or 1)
            return f"{count.total:,} charts ({count.unchanged:,} unchanged)"
        if ref == "exports/decision_charts":
            if value is None:
                return None
            count = write_decision_charts(value, self.exports / INTERNAL_DIR / "charts",
                                          os.cpu_count() or 1)
            return f"{count.total:,} decision charts ({count.unchanged:,} unchanged)"
        if ref == "exports/flow_charts":
            if value is None:
                return None
            count = write_flow_charts(value, self.exports / INTERNAL_DIR / "charts" / "flows")
            return f"{count.total:,} flow charts ({count.unchanged:,} unchanged)"
        if ref == "exports/reports":
            if value is None:
                return None
            return str(write_reports(value, self.exports / INTERNAL_DIR / "reports", self.exports))
        if ref.startswith(EXPORTS_PREFIX):
            target = self.exports / ref.removeprefix(EXPORTS_PREFIX)
            if target.suffix == ".json":
                self.documents[write_json(value, target)] = value
            else:
                write_text(value, target)
            return None
        assert isinstance(value, DataFrame | PartitionReplace), \
            f"{ref}: a table output must be a DataFrame"
        return f"{ref} {self.store.write(value, ref, partition_by):,} rows"


def read_table(spark: SparkSession, output_path: str | Path, name: str) -> DataFrame:
    """A table or view under `output_path` as the last run left it (notebooks, analysts)."""
    view = stage_table.VIEWS.get(name)
    path = Path(output_path) / (view.table if view else name)
    fmt = "delta" if (path / "_delta_log").is_dir() else "parquet"
    table = spark.read.format(fmt).load(str(path))
    return view.transform(table) if view else table


def previous_report(history: Path, run_id: str) -> dict[str, Any] | None:
    """The most recent earlier run's quality report, if any."""
    earlier = [p for p in history.glob("*.json") if p.stem != run_id]
    if not earlier:
        return None
    latest = max(earlier, key=lambda p: p.stat().st_mtime)
    return dict(json.loads(latest.read_text(encoding="utf-8")))


def run_stage(run: Run, stage: Stage) -> list[str]:
    """Run one stage; notes of what it wrote."""
    kwargs = {keyword: run.load(ref) for keyword, ref in stage.inputs.items()}
    kwargs.update({name: run.param(name) for name in stage.params})
    outputs = stage.node(**kwargs)
    if set(outputs) != set(stage.outputs):
        raise RuntimeError(f"stage {stage.name} returned {sorted(outputs)}, "
                           f"the stage table says {sorted(stage.outputs)}")
    partitions = stage.partition_by or {}
    notes = []
    for ref in stage.outputs:  # outputs are lazy: a table's time is its computing and writing
        started = time.perf_counter()
        note = run.save(ref, outputs[ref], partitions.get(ref, ()))
        notes.append(note and f"{note} in {time.perf_counter() - started:.1f} s")
    for table, check in (stage.checks or {}).items():
        check(run.store.read(table))
    for export in stage.exports:
        export_csv(run.store.read(export.table), run.exports / export.path,
                   staging=run.store.scratch_path(f"exports/{export.table}"), order=export.order,
                   present=run.presentation(export))
    run.spark.catalog.clearCache()  # what a node cached lives for its stage only
    return [note for note in notes if note]


def run_stages(run: Run, names: Sequence[str] | None = None) -> None:
    """Run the named stages (all by default) in table order, one progress line each way."""
    table = stage_table.STAGES
    chosen = [s for s in table if names is None or s.name in names]
    for stage in chosen:  # before any work: a stage that writes tables cannot run --as-of,
        for ref in stage.outputs:  # and one that reads settlement files needs the key
            if is_table(ref):
                run.store.check_writable(ref)
        if SETTLEMENT_FILES in stage.inputs.values():
            run.pseudonymiser()
    log.info("run %s: %s tables in %s", run.run_id, run.store.format, run.cfg.output.path)
    recorded = reuse.recorded_inputs(run.store) if run.store.as_of is None else {}
    records = dict(recorded)
    origins: dict[str, str] = {}  # table -> fingerprint of the stage that gave it in this run
    for stage in chosen:
        number = f"{table.index(stage) + 1}/{len(table)}"
        started = time.perf_counter()
        fingerprint = _fingerprint(run, stage, origins)
        if fingerprint is not None:
            origins.update({ref: fingerprint for ref in stage.outputs if is_table(ref)})
        kept = reuse.kept_since(run.store, stage, recorded.get(stage.name), fingerprint)
        if kept is not None:
            log.info("stage %s %s kept as run %s wrote it: its inputs, settings and code are "
                     "unchanged (%.1f s to check)", number, stage.name, kept,
                     time.perf_counter() - started)
            continue
        log.info("stage %s %s …", number, stage.name)
        notes = run_stage(run, stage)
        records.pop(stage.name, None)
        if fingerprint is not None:
            records[stage.name] = reuse.Recorded(fingerprint, run.run_id)
        log.info("stage %s %s done in %.1f s%s", number, stage.name,
                 time.perf_counter() - started, f": {', '.join(notes)}" if notes else "")
    if records != recorded:
        run.save(STAGE_INPUTS, reuse.records_table(run.spark, records))


def _fingerprint(run: Run, stage: Stage, origins: dict[str, str]) -> str | None:
    """The stage's fingerprint when it is reusable and the run may reuse (pipeline.reuse)."""
    if not stage.reusable or not run.cfg.output.reuse_unchanged or run.store.format != "delta":
        return None
    return reuse.stage_fingerprint(run.spark, run.store, run.cfg.inputs, stage,
                                   {name: run.param(name) for name in stage.params}, origins)
