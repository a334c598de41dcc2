"""What every stage shares: the command line, the config, the session and the table store."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyspark.sql import SparkSession

from catalogbridge.config import ConfigError, PipelineConfig, load_config
from catalogbridge.io import InputError, TableStore
from catalogbridge.session import get_spark

log = logging.getLogger("catalogbridge")


@dataclass(frozen=True)
class StageContext:
    cfg: PipelineConfig
    spark: SparkSession
    store: TableStore
    run_id: str


def parse_args(argv: Sequence[str] | None, description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--conf", default="conf/local.yaml",
                        help="YAML config (an overlay such as conf/local.yaml or conf/cluster.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a config key, e.g. --set "
                        "scenario.scope=all (repeatable)")
    return parser.parse_args(argv)


def build_context(cfg: PipelineConfig) -> StageContext:
    spark = get_spark(cfg.spark)
    run_id = cfg.run_id or dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    store = TableStore(spark, cfg.output, run_id)
    return StageContext(cfg=cfg, spark=spark, store=store, run_id=run_id)


def run_main(argv: Sequence[str] | None, description: str,
             body: Callable[[StageContext], None]) -> int:
    """Parse, configure, run, commit; a failed run commits nothing.

    User errors (config, inputs) print one clear message and exit 2; anything else is
    re-raised after the run's staged tables are dropped.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv, description)
    try:
        cfg = load_config(args.conf, args.overrides)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ctx = build_context(cfg)
    try:
        body(ctx)
    except InputError as exc:
        ctx.store.discard()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BaseException:
        ctx.store.discard()
        log.error("run %s failed; the previous run's tables are unchanged", ctx.run_id)
        raise
    ctx.store.commit()
    return 0
