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
    return StageContext(cfg=cfg, spark=spark, store=TableStore(spark, cfg.output), run_id=run_id)


def run_main(argv: Sequence[str] | None, description: str,
             body: Callable[[StageContext], None]) -> int:
    """Parse, configure, run; user errors print one clear message and exit 2."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv, description)
    try:
        cfg = load_config(args.conf, args.overrides)
        body(build_context(cfg))
    except (ConfigError, InputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
